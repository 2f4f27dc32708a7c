#include "tenancy/directory.h"

#include <algorithm>

#include "core/strings.h"

namespace basalt::tenancy {

namespace {

constexpr std::string_view kTenants = "tenants";
constexpr std::string_view kKeys = "api_keys";

absl::Status ReadOnly(std::string_view name) {
  return absl::FailedPreconditionError(
      StrCat("tenant '", name, "' is declared in basalt.yaml; change it there"));
}

absl::Status NoTenant(std::string_view name) {
  return absl::NotFoundError(StrCat("no tenant '", name, "'"));
}

}  // namespace

Directory::Directory(Store& store, RoleTable roles, PolicyCheck check, const Clock& clock)
    : store_(store), roles_(std::move(roles)), check_(std::move(check)), clock_(clock) {}

int64_t Directory::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now().time_since_epoch())
      .count();
}

absl::StatusOr<std::unique_ptr<Directory>> Directory::Load(
    Store& store, std::vector<Tenant> declared, const std::vector<std::string>& implicit,
    RoleTable roles, PolicyCheck check, const Clock& clock) {
  std::unique_ptr<Directory> d(new Directory(store, std::move(roles), std::move(check), clock));
  absl::MutexLock lock(&d->mu_);
  for (const std::string& collection : {std::string(kTenants), std::string(kKeys)}) {
    std::string after;
    for (;;) {
      ListOptions options;
      options.after_id = after;
      options.limit = 1000;
      auto page = store.List(kSystemTenant, collection, options);
      if (!page.ok()) return page.status();
      for (const Record& r : page->records) {
        auto doc = nlohmann::json::parse(r.body, nullptr, false);
        if (collection == kTenants) {
          auto t = ParseTenant(doc, StrCat("stored tenant ", r.id));
          if (!t.ok()) return t.status();
          auto ptr = std::make_shared<const Tenant>(*std::move(t));
          d->tenants_[ptr->name] = std::move(ptr);
        } else {
          auto k = ApiKeyFromStored(doc);
          if (!k.ok()) return k.status();
          auto ptr = std::make_shared<const ApiKeyRecord>(*std::move(k));
          d->keys_[ptr->id] = std::move(ptr);
        }
      }
      if (page->next_cursor.empty()) break;
      after = page->next_cursor;
    }
  }
  for (Tenant& t : declared) {
    t.source = "config";
    if (d->check_) {
      if (absl::Status s = d->check_(t, StrCat("tenants.", t.name)); !s.ok()) return s;
    }
    std::string name = t.name;
    d->tenants_[name] = std::make_shared<const Tenant>(std::move(t));
  }
  for (const std::string& name : implicit) {
    if (d->tenants_.contains(ToAbsl(name))) continue;
    Tenant t;
    t.name = name;
    t.source = "implicit";
    d->tenants_[name] = std::make_shared<const Tenant>(std::move(t));
  }
  return d;
}

TenantPtr Directory::Find(std::string_view name) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = tenants_.find(ToAbsl(name));
  return it == tenants_.end() ? nullptr : it->second;
}

std::vector<TenantPtr> Directory::List() const {
  std::vector<TenantPtr> out;
  {
    absl::ReaderMutexLock lock(&mu_);
    for (const auto& [_, t] : tenants_) out.push_back(t);
  }
  std::sort(out.begin(), out.end(), [](const TenantPtr& a, const TenantPtr& b) {
    return a->name < b->name;
  });
  return out;
}

ApiKeyPtr Directory::FindKey(std::string_view id) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = keys_.find(ToAbsl(id));
  return it == keys_.end() ? nullptr : it->second;
}

absl::Status Directory::Persist(const Tenant& tenant, bool create) {
  const std::string body = TenantToJson(tenant).dump();
  if (create) return store_.Create(kSystemTenant, kTenants, tenant.name, body).status();
  return store_.Update(kSystemTenant, kTenants, tenant.name, body, 0).status();
}

absl::Status Directory::PersistKey(const ApiKeyRecord& key, bool create) {
  const std::string body = ApiKeyToStored(key).dump();
  if (create) return store_.Create(kSystemTenant, kKeys, key.id, body).status();
  return store_.Update(kSystemTenant, kKeys, key.id, body, 0).status();
}

absl::StatusOr<TenantPtr> Directory::Create(const nlohmann::json& doc) {
  absl::MutexLock write(&write_mu_);
  auto t = ParseTenant(doc, "");
  if (!t.ok()) return t.status();
  if (check_) {
    if (absl::Status s = check_(*t, ""); !s.ok()) return s;
  }
  if (Find(t->name) != nullptr) {
    return absl::AlreadyExistsError(StrCat("tenant '", t->name, "' already exists"));
  }
  t->source = "api";
  t->created_ms = t->updated_ms = NowMs();
  if (absl::Status s = Persist(*t, true); !s.ok()) return s;
  auto ptr = std::make_shared<const Tenant>(*std::move(t));
  absl::MutexLock lock(&mu_);
  tenants_[ptr->name] = ptr;
  return ptr;
}

absl::StatusOr<TenantPtr> Directory::Replace(const Tenant& updated) {
  if (absl::Status s = Persist(updated, false); !s.ok()) return s;
  auto ptr = std::make_shared<const Tenant>(updated);
  absl::MutexLock lock(&mu_);
  tenants_[ptr->name] = ptr;
  return ptr;
}

absl::StatusOr<TenantPtr> Directory::Update(std::string_view name, const nlohmann::json& patch) {
  absl::MutexLock write(&write_mu_);
  TenantPtr current = Find(name);
  if (current == nullptr) return NoTenant(name);
  if (current->source != "api") return ReadOnly(name);
  auto t = ParseTenant(patch, "", current.get());
  if (!t.ok()) return t.status();
  if (check_) {
    if (absl::Status s = check_(*t, ""); !s.ok()) return s;
  }
  t->source = "api";
  t->created_ms = current->created_ms;
  t->updated_ms = NowMs();
  return Replace(*t);
}

absl::StatusOr<TenantPtr> Directory::SetStatus(std::string_view name, TenantStatus status) {
  absl::MutexLock write(&write_mu_);
  TenantPtr current = Find(name);
  if (current == nullptr) return NoTenant(name);
  if (current->source != "api") return ReadOnly(name);
  Tenant t = *current;
  t.status = status;
  t.updated_ms = NowMs();
  return Replace(t);
}

absl::Status Directory::Remove(std::string_view name) {
  absl::MutexLock write(&write_mu_);
  TenantPtr current = Find(name);
  if (current == nullptr) return NoTenant(name);
  if (current->source != "api") return ReadOnly(name);
  for (const ApiKeyPtr& k : ListKeys(name)) {
    absl::Status s = store_.Delete(kSystemTenant, kKeys, k->id);
    if (!s.ok() && s.code() != absl::StatusCode::kNotFound) return s;
  }
  absl::Status s = store_.Delete(kSystemTenant, kTenants, name);
  if (!s.ok() && s.code() != absl::StatusCode::kNotFound) return s;
  absl::MutexLock lock(&mu_);
  tenants_.erase(ToAbsl(name));
  for (auto it = keys_.begin(); it != keys_.end();) {
    if (it->second->tenant == name) {
      keys_.erase(it++);
    } else {
      ++it;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<MintedKey> Directory::CreateKey(std::string_view tenant,
                                               const NewKeyOptions& options) {
  absl::MutexLock write(&write_mu_);
  if (Find(tenant) == nullptr) return NoTenant(tenant);
  if (options.name.size() > 128) return absl::InvalidArgumentError("name: at most 128 characters");
  std::vector<std::string> scopes = options.scopes;
  if (scopes.empty()) scopes = {"developer"};
  auto perms = roles_.Resolve(scopes, "scopes");
  if (!perms.ok()) return perms.status();
  const int64_t now = NowMs();
  if (options.expires_ms != 0 && options.expires_ms <= now) {
    return absl::InvalidArgumentError("expires_at: must be in the future");
  }
  auto minted = MintApiKey(tenant);
  if (!minted.ok()) return minted.status();
  minted->record.name = options.name;
  minted->record.scopes = std::move(scopes);
  minted->record.permissions = *perms;
  minted->record.created_ms = now;
  minted->record.expires_ms = options.expires_ms;
  if (options.requests_per_minute < 0 || options.tokens_per_minute < 0) {
    return absl::InvalidArgumentError("limits: must be integers >= 0 (0: unlimited)");
  }
  minted->record.requests_per_minute = options.requests_per_minute;
  minted->record.tokens_per_minute = options.tokens_per_minute;
  if (absl::Status s = PersistKey(minted->record, true); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  keys_[minted->record.id] = std::make_shared<const ApiKeyRecord>(minted->record);
  return minted;
}

std::vector<ApiKeyPtr> Directory::ListKeys(std::string_view tenant) const {
  std::vector<ApiKeyPtr> out;
  {
    absl::ReaderMutexLock lock(&mu_);
    for (const auto& [_, k] : keys_) {
      if (k->tenant == tenant) out.push_back(k);
    }
  }
  std::sort(out.begin(), out.end(), [](const ApiKeyPtr& a, const ApiKeyPtr& b) {
    return a->created_ms != b->created_ms ? a->created_ms < b->created_ms : a->id < b->id;
  });
  return out;
}

absl::StatusOr<ApiKeyPtr> Directory::RevokeKey(std::string_view tenant, std::string_view id) {
  absl::MutexLock write(&write_mu_);
  ApiKeyPtr current = FindKey(id);
  if (current == nullptr || current->tenant != tenant) {
    return absl::NotFoundError(StrCat("no API key '", id, "' in tenant '", tenant, "'"));
  }
  ApiKeyRecord k = *current;
  if (k.revoked_ms == 0) k.revoked_ms = NowMs();
  if (absl::Status s = PersistKey(k, false); !s.ok()) return s;
  auto ptr = std::make_shared<const ApiKeyRecord>(std::move(k));
  absl::MutexLock lock(&mu_);
  keys_[ptr->id] = ptr;
  return ptr;
}

absl::StatusOr<MintedKey> Directory::RotateKey(std::string_view tenant, std::string_view id,
                                               int64_t grace_ms) {
  ApiKeyPtr current = FindKey(id);
  if (current == nullptr || current->tenant != tenant) {
    return absl::NotFoundError(StrCat("no API key '", id, "' in tenant '", tenant, "'"));
  }
  if (!current->Usable(NowMs())) {
    return absl::FailedPreconditionError(StrCat("API key '", id, "' is revoked or expired"));
  }
  NewKeyOptions options{current->name, current->scopes, current->expires_ms,
                        current->requests_per_minute, current->tokens_per_minute};
  auto minted = CreateKey(tenant, options);
  if (!minted.ok()) return minted.status();
  absl::MutexLock write(&write_mu_);
  ApiKeyRecord old = *current;
  old.rotated_to = minted->record.id;
  const int64_t end = NowMs() + std::max<int64_t>(grace_ms, 0);
  if (grace_ms <= 0) {
    old.revoked_ms = end;
  } else if (old.expires_ms == 0 || old.expires_ms > end) {
    old.expires_ms = end;
  }
  if (absl::Status s = PersistKey(old, false); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  auto ptr = std::make_shared<const ApiKeyRecord>(std::move(old));
  keys_[ptr->id] = std::move(ptr);
  return minted;
}

}  // namespace basalt::tenancy
