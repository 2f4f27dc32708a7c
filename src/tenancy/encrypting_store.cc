#include "tenancy/encrypting_store.h"

#include <nlohmann/json.hpp>

#include "core/strings.h"

namespace basalt::tenancy {

namespace {

std::string Table(std::string_view collection) { return StrCat("records/", collection); }

}  // namespace

absl::StatusOr<std::string> EncryptingStore::Seal(std::string_view tenant,
                                                  std::string_view collection,
                                                  std::string_view id,
                                                  std::string_view body) const {
  // Validate before sealing: the adapter can no longer see whether it is JSON.
  if (!nlohmann::json::accept(body)) return absl::InvalidArgumentError("body: is not valid JSON");
  auto sealed = cipher_.Seal(tenant, Table(collection), id, "body", body);
  if (!sealed.ok()) return sealed.status();
  return nlohmann::json{{"enc1", *sealed}}.dump();
}

absl::Status EncryptingStore::Open(Record& record) const {
  auto doc = nlohmann::json::parse(record.body, nullptr, false);
  if (!doc.is_object() || doc.size() != 1 || !doc.contains("enc1") || !doc["enc1"].is_string()) {
    return absl::OkStatus();  // written before encryption was on
  }
  auto plain = cipher_.Open(record.tenant, Table(record.collection), record.id, "body",
                            doc["enc1"].get<std::string>());
  if (!plain.ok()) return plain.status();
  record.body = *std::move(plain);
  return absl::OkStatus();
}

absl::StatusOr<Record> EncryptingStore::Create(std::string_view tenant,
                                               std::string_view collection, std::string_view id,
                                               std::string_view body) {
  auto sealed = Seal(tenant, collection, id, body);
  if (!sealed.ok()) return sealed.status();
  auto r = inner_.Create(tenant, collection, id, *sealed);
  if (!r.ok()) return r;
  r->body = std::string(body);
  return r;
}

absl::StatusOr<Record> EncryptingStore::Get(std::string_view tenant, std::string_view collection,
                                            std::string_view id) {
  auto r = inner_.Get(tenant, collection, id);
  if (!r.ok()) return r;
  if (absl::Status s = Open(*r); !s.ok()) return s;
  return r;
}

absl::StatusOr<Record> EncryptingStore::Update(std::string_view tenant,
                                               std::string_view collection, std::string_view id,
                                               std::string_view body, int64_t expected_version) {
  auto sealed = Seal(tenant, collection, id, body);
  if (!sealed.ok()) return sealed.status();
  auto r = inner_.Update(tenant, collection, id, *sealed, expected_version);
  if (!r.ok()) return r;
  r->body = std::string(body);
  return r;
}

absl::Status EncryptingStore::Delete(std::string_view tenant, std::string_view collection,
                                     std::string_view id) {
  return inner_.Delete(tenant, collection, id);
}

absl::StatusOr<RecordPage> EncryptingStore::List(std::string_view tenant,
                                                 std::string_view collection,
                                                 const ListOptions& options) {
  auto page = inner_.List(tenant, collection, options);
  if (!page.ok()) return page;
  for (Record& r : page->records) {
    if (absl::Status s = Open(r); !s.ok()) return s;
  }
  return page;
}

}  // namespace basalt::tenancy
