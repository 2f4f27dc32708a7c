// EncryptingStore: a Store decorator that seals every record body with its
// tenant's data key (FieldCipher; table "records/<collection>", field "body")
// before it reaches the adapter, and opens it on the way back. The body the
// adapter sees is the JSON {"enc1": "<base64 envelope>"}, so the Store's
// contract (bodies are JSON) holds. Records of the system tenant (tenants and
// key hashes, which hold no content) are not written through it.
//
// Errors: the inner store's, plus kDataLoss / kPermissionDenied from a body
// that does not authenticate (edited, or moved to another row or tenant).
#pragma once

#include "store/store.h"
#include "tenancy/field_cipher.h"

namespace basalt::tenancy {

class EncryptingStore final : public Store {
 public:
  EncryptingStore(Store& inner, const FieldCipher& cipher) : inner_(inner), cipher_(cipher) {}

  absl::StatusOr<Record> Create(std::string_view tenant, std::string_view collection,
                                std::string_view id, std::string_view body) override;
  absl::StatusOr<Record> Get(std::string_view tenant, std::string_view collection,
                             std::string_view id) override;
  absl::StatusOr<Record> Update(std::string_view tenant, std::string_view collection,
                                std::string_view id, std::string_view body,
                                int64_t expected_version) override;
  absl::Status Delete(std::string_view tenant, std::string_view collection,
                      std::string_view id) override;
  absl::StatusOr<RecordPage> List(std::string_view tenant, std::string_view collection,
                                  const ListOptions& options) override;
  absl::StatusOr<int64_t> AdminCountAllTenants(std::string_view collection) override {
    return inner_.AdminCountAllTenants(collection);
  }
  absl::Status AdminDeleteTenant(std::string_view tenant) override {
    return inner_.AdminDeleteTenant(tenant);
  }
  absl::Status Ping() override { return inner_.Ping(); }
  int SchemaVersion() const override { return inner_.SchemaVersion(); }

 private:
  absl::StatusOr<std::string> Seal(std::string_view tenant, std::string_view collection,
                                   std::string_view id, std::string_view body) const;
  absl::Status Open(Record& record) const;

  Store& inner_;
  const FieldCipher& cipher_;
};

}  // namespace basalt::tenancy
