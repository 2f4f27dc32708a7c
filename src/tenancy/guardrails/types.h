// Vocabulary of the guardrails: the entity types (spelled as Bedrock spells
// them), actions, the two sources, and what a scan reports.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::guardrails {

// Which side of the model a text is on (Bedrock's GuardrailContentSource).
enum class Source { kInput, kOutput };

// What to do with a finding. kNone detects and reports only.
enum class Action { kNone, kAnonymize, kBlock };

// Built-in sensitive-information detectors. The names are Bedrock's
// GuardrailPiiEntityType spellings (EntityTypeName).
enum class EntityType {
  kEmail,
  kPhone,
  kUsSocialSecurityNumber,
  kCreditDebitCardNumber,
  kInternationalBankAccountNumber,
  kIpAddress,
  kAwsAccessKey,
  kAwsSecretKey,
};
inline constexpr int kEntityTypeCount = 8;

// "EMAIL", "PHONE", "US_SOCIAL_SECURITY_NUMBER", "CREDIT_DEBIT_CARD_NUMBER",
// "INTERNATIONAL_BANK_ACCOUNT_NUMBER", "IP_ADDRESS", "AWS_ACCESS_KEY", "AWS_SECRET_KEY".
std::string_view EntityTypeName(EntityType type);
// Accepts the names above; nullopt otherwise.
std::optional<EntityType> EntityTypeFromName(std::string_view name);

// "NONE", "ANONYMIZE", "BLOCK" (policy spelling).
std::string_view ActionName(Action action);
std::optional<Action> ActionFromName(std::string_view name);

struct Finding {
  enum class Kind { kPii, kRegex, kDeniedWord };
  Kind kind = Kind::kPii;
  EntityType type = EntityType::kEmail;  // meaningful for kPii
  // kPii: the entity type name; kRegex: the regex's configured name;
  // kDeniedWord: the phrase as configured.
  std::string name;
  std::string match;  // the matched bytes
  Action action = Action::kNone;
  size_t begin = 0;  // byte offsets into the scanned text, [begin, end)
  size_t end = 0;
};

struct Assessment {
  // Acting findings (ANONYMIZE, BLOCK) and reported-only findings (NONE), in
  // text order, none overlapping another.
  std::vector<Finding> findings;
  // When blocked: the policy's blocked message for the source. Otherwise the
  // input with every ANONYMIZE finding replaced by its placeholder.
  std::string text;
  bool blocked = false;
  bool anonymized = false;  // at least one ANONYMIZE finding replaced
  size_t characters = 0;    // UTF-8 code points scanned (Bedrock counts text units of 1,000)
  bool intervened() const { return blocked || anonymized; }
};

}  // namespace basalt::guardrails
