#include "tenancy/guardrails/policy.h"

#include <re2/re2.h>

#include <utility>

#include "core/strings.h"

namespace basalt::guardrails {
namespace {

constexpr std::array<std::string_view, kEntityTypeCount> kEntityNames = {
    "EMAIL",
    "PHONE",
    "US_SOCIAL_SECURITY_NUMBER",
    "CREDIT_DEBIT_CARD_NUMBER",
    "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
    "IP_ADDRESS",
    "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY",
};

absl::Status FieldError(std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(StrCat("guardrail.", field, ": ", what));
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

// An action value is a name, or {"input": name, "output": name}.
absl::StatusOr<SourceActions> ParseActions(const nlohmann::json& value, std::string_view field) {
  auto one = [&](const nlohmann::json& v, std::string_view f) -> absl::StatusOr<Action> {
    if (!v.is_string()) return FieldError(f, "must be a string (NONE, ANONYMIZE or BLOCK)");
    const std::string& s = v.get_ref<const std::string&>();
    std::optional<Action> action = ActionFromName(s);
    if (!action) return FieldError(f, StrCat("unknown action '", s, "'"));
    return *action;
  };
  if (value.is_object()) {
    SourceActions actions;
    for (const auto& [key, v] : value.items()) {
      const std::string f = StrCat(field, ".", key);
      if (key != "input" && key != "output") return FieldError(f, "unknown field");
      absl::StatusOr<Action> a = one(v, f);
      if (!a.ok()) return a.status();
      (key == "input" ? actions.input : actions.output) = *a;
    }
    if (!value.contains("input") || !value.contains("output")) {
      return FieldError(field, "needs both 'input' and 'output'");
    }
    return actions;
  }
  absl::StatusOr<Action> a = one(value, field);
  if (!a.ok()) return a.status();
  return SourceActions{*a, *a};
}

nlohmann::json ActionsJson(const SourceActions& a) {
  if (a.input == a.output) return std::string(ActionName(a.input));
  return {{"input", ActionName(a.input)}, {"output", ActionName(a.output)}};
}

absl::StatusOr<CustomRegex> ParseRegex(const nlohmann::json& value, std::string_view field) {
  if (!value.is_object()) return FieldError(field, "must be an object");
  CustomRegex regex;
  bool has_action = false, has_input = false, has_output = false;
  for (const auto& [key, v] : value.items()) {
    const std::string f = StrCat(field, ".", key);
    if (key == "name" || key == "pattern") {
      if (!v.is_string() || v.get_ref<const std::string&>().empty()) {
        return FieldError(f, "must be a non-empty string");
      }
      (key == "name" ? regex.name : regex.pattern) = v.get<std::string>();
    } else if (key == "action") {
      absl::StatusOr<SourceActions> a = ParseActions(v, f);
      if (!a.ok()) return a.status();
      regex.action = *a;
      has_action = true;
    } else if (key == "input_action" || key == "output_action") {
      absl::StatusOr<SourceActions> a = ParseActions(v, f);
      if (!a.ok()) return a.status();
      if (key == "input_action") {
        regex.action.input = a->input;
        has_input = true;
      } else {
        regex.action.output = a->output;
        has_output = true;
      }
    } else if (key == "max_match_bytes") {
      if (!v.is_number_integer() || v.get<int64_t>() < 1 ||
          v.get<int64_t>() > static_cast<int64_t>(kMaxMatchBytesLimit)) {
        return FieldError(f, StrCat("must be an integer from 1 to ", kMaxMatchBytesLimit));
      }
      regex.max_match_bytes = v.get<size_t>();
    } else {
      return FieldError(f, "unknown field");
    }
  }
  if (regex.name.empty()) return FieldError(StrCat(field, ".name"), "is required");
  if (regex.pattern.empty()) return FieldError(StrCat(field, ".pattern"), "is required");
  if (regex.pattern.size() > kMaxPatternBytes) {
    return FieldError(StrCat(field, ".pattern"),
                      StrCat("longer than ", kMaxPatternBytes, " bytes"));
  }
  if (has_action && (has_input || has_output)) {
    return FieldError(field, "give 'action' or 'input_action'/'output_action', not both");
  }
  if (!has_action && !(has_input && has_output)) {
    return FieldError(StrCat(field, ".action"), "is required");
  }
  RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_shared<const RE2>(regex.pattern, options);
  if (!re->ok()) {
    return FieldError(StrCat(field, ".pattern"),
                      StrCat("pattern '", regex.pattern, "' does not compile: ", re->error()));
  }
  regex.re = std::move(re);
  return regex;
}

absl::StatusOr<DeniedPhrase> ParsePhrase(const nlohmann::json& value, std::string_view field) {
  if (!value.is_string()) return FieldError(field, "must be a string");
  DeniedPhrase phrase;
  phrase.text = value.get<std::string>();
  if (phrase.text.size() > kMaxPhraseBytes) {
    return FieldError(field, StrCat("longer than ", kMaxPhraseBytes, " bytes"));
  }
  std::string word;
  for (char c : phrase.text) {
    if (IsSpace(c)) {
      if (!word.empty()) phrase.words.push_back(std::move(word));
      word.clear();
    } else {
      word.push_back(Lower(c));
    }
  }
  if (!word.empty()) phrase.words.push_back(std::move(word));
  if (phrase.words.empty()) return FieldError(field, "must contain a word");
  for (const std::string& w : phrase.words) phrase.max_bytes += w.size();
  phrase.max_bytes += (phrase.words.size() - 1) * kMaxPhraseGap;
  return phrase;
}

}  // namespace

std::string_view EntityTypeName(EntityType type) { return kEntityNames[static_cast<int>(type)]; }

std::optional<EntityType> EntityTypeFromName(std::string_view name) {
  for (int i = 0; i < kEntityTypeCount; ++i) {
    if (kEntityNames[i] == name) return static_cast<EntityType>(i);
  }
  return std::nullopt;
}

std::string_view ActionName(Action action) {
  switch (action) {
    case Action::kNone:
      return "NONE";
    case Action::kAnonymize:
      return "ANONYMIZE";
    case Action::kBlock:
      return "BLOCK";
  }
  return "NONE";
}

std::optional<Action> ActionFromName(std::string_view name) {
  if (name == "NONE") return Action::kNone;
  if (name == "ANONYMIZE") return Action::kAnonymize;
  if (name == "BLOCK") return Action::kBlock;
  return std::nullopt;
}

absl::StatusOr<Policy> Policy::FromJson(const nlohmann::json& json) {
  if (!json.is_object()) return absl::InvalidArgumentError("guardrail: must be an object");
  Policy policy;
  for (const auto& [key, value] : json.items()) {
    if (key == "pii") {
      if (!value.is_object()) return FieldError("pii", "must be an object");
      for (const auto& [name, v] : value.items()) {
        const std::string field = StrCat("pii.", name);
        std::optional<EntityType> type = EntityTypeFromName(name);
        if (!type) return FieldError(field, "unknown or unsupported entity type");
        absl::StatusOr<SourceActions> actions = ParseActions(v, field);
        if (!actions.ok()) return actions.status();
        policy.pii_[static_cast<int>(*type)] = *actions;
      }
    } else if (key == "regexes") {
      if (!value.is_array()) return FieldError("regexes", "must be an array");
      if (value.size() > kMaxRegexes) {
        return FieldError("regexes", StrCat("at most ", kMaxRegexes, " regexes"));
      }
      for (size_t i = 0; i < value.size(); ++i) {
        absl::StatusOr<CustomRegex> regex = ParseRegex(value[i], StrCat("regexes[", i, "]"));
        if (!regex.ok()) return regex.status();
        for (const CustomRegex& other : policy.regexes_) {
          if (other.name == regex->name) {
            return FieldError(StrCat("regexes[", i, "].name"),
                              StrCat("duplicate name '", regex->name, "'"));
          }
        }
        policy.regexes_.push_back(*std::move(regex));
      }
    } else if (key == "denied_words") {
      if (!value.is_array()) return FieldError("denied_words", "must be an array of strings");
      if (value.size() > kMaxDeniedWords) {
        return FieldError("denied_words", StrCat("at most ", kMaxDeniedWords, " entries"));
      }
      for (size_t i = 0; i < value.size(); ++i) {
        absl::StatusOr<DeniedPhrase> phrase =
            ParsePhrase(value[i], StrCat("denied_words[", i, "]"));
        if (!phrase.ok()) return phrase.status();
        policy.denied_.push_back(*std::move(phrase));
      }
    } else if (key == "blocked_input_message" || key == "blocked_output_message") {
      if (!value.is_string()) return FieldError(key, "must be a string");
      (key == "blocked_input_message" ? policy.blocked_input_message_
                                      : policy.blocked_output_message_) = value.get<std::string>();
    } else {
      return FieldError(key, "unknown field");
    }
  }
  policy.phrase_bucket_.fill(-1);
  for (size_t i = 0; i < policy.denied_.size(); ++i) {
    const auto first = static_cast<unsigned char>(policy.denied_[i].words[0][0]);
    if (policy.phrase_bucket_[first] < 0) {
      policy.phrase_bucket_[first] = static_cast<int>(policy.buckets_.size());
      policy.buckets_.emplace_back();
    }
    policy.buckets_[policy.phrase_bucket_[first]].push_back(static_cast<int>(i));
    policy.phrase_first_[first] = true;
  }
  return policy;
}

const std::vector<int>& Policy::PhrasesStartingWith(unsigned char lower) const {
  static const std::vector<int> kNone;
  const int bucket = phrase_bucket_[lower];
  return bucket < 0 ? kNone : buckets_[bucket];
}

nlohmann::json Policy::ToJson() const {
  nlohmann::json out = nlohmann::json::object();
  nlohmann::json pii = nlohmann::json::object();
  for (int i = 0; i < kEntityTypeCount; ++i) {
    if (pii_[i]) pii[std::string(kEntityNames[i])] = ActionsJson(*pii_[i]);
  }
  out["pii"] = std::move(pii);
  nlohmann::json regexes = nlohmann::json::array();
  for (const CustomRegex& r : regexes_) {
    regexes.push_back({{"name", r.name},
                       {"pattern", r.pattern},
                       {"action", ActionsJson(r.action)},
                       {"max_match_bytes", r.max_match_bytes}});
  }
  out["regexes"] = std::move(regexes);
  nlohmann::json words = nlohmann::json::array();
  for (const DeniedPhrase& p : denied_) words.push_back(p.text);
  out["denied_words"] = std::move(words);
  out["blocked_input_message"] = blocked_input_message_;
  out["blocked_output_message"] = blocked_output_message_;
  return out;
}

}  // namespace basalt::guardrails
