#include "models/providers/aws_credentials.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "core/strings.h"

namespace basalt::models {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::string Env(const GetEnv& getenv, std::string_view name) {
  std::optional<std::string> value = getenv(name);
  return value.has_value() ? *std::move(value) : std::string();
}

// The credentials from one source's three values. nullopt when the source has
// neither key; kUnauthenticated when it has only one of them.
std::optional<absl::StatusOr<sigv4::AwsCredentials>> FromValues(
    std::string key_id, std::string secret, std::string token, std::string_view key_name,
    std::string_view secret_name, std::string_view where) {
  if (key_id.empty() && secret.empty()) return std::nullopt;
  if (key_id.empty() || secret.empty()) {
    return absl::StatusOr<sigv4::AwsCredentials>(absl::UnauthenticatedError(StrCat(
        "incomplete AWS credentials in ", where, ": ", key_id.empty() ? key_name : secret_name,
        " is missing (", key_id.empty() ? secret_name : key_name, " is set)")));
  }
  return absl::StatusOr<sigv4::AwsCredentials>(
      sigv4::AwsCredentials{std::move(key_id), std::move(secret), std::move(token)});
}

std::string CredentialsPath(const GetEnv& getenv) {
  std::string path = Env(getenv, "AWS_SHARED_CREDENTIALS_FILE");
  const std::string home = Env(getenv, "HOME");
  if (path.empty()) return home.empty() ? std::string() : home + "/.aws/credentials";
  if (path == "~" || path.rfind("~/", 0) == 0) {
    if (!home.empty()) path = home + path.substr(1);
  }
  return path;
}

// Reads `path` whole; nullopt when it cannot be opened.
std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

GetEnv ProcessEnv() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

absl::StatusOr<IniFile> ParseIni(std::string_view text) {
  IniFile ini;
  IniSection* section = nullptr;
  int line_number = 0;
  for (std::string_view raw : Split(text, '\n')) {
    ++line_number;
    if (!raw.empty() && (raw.front() == ' ' || raw.front() == '\t')) {
      if (Trim(raw).empty()) continue;
      if (section == nullptr) {
        return absl::InvalidArgumentError(StrCat("line ", line_number,
                                                 ": indented line before "
                                                 "the first [section]"));
      }
      continue;  // a nested value (config-file syntax); credentials never use it
    }
    const std::string_view line = Trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']') {
        return absl::InvalidArgumentError(StrCat("line ", line_number,
                                                 ": section header "
                                                 "without a closing ']'"));
      }
      const std::string name(Trim(line.substr(1, line.size() - 2)));
      if (name.empty()) {
        return absl::InvalidArgumentError(StrCat("line ", line_number, ": empty section name"));
      }
      section = &ini[name];
      continue;
    }
    const size_t delimiter = line.find_first_of("=:");
    if (delimiter == std::string_view::npos || delimiter == 0) {
      return absl::InvalidArgumentError(
          StrCat("line ", line_number, ": expected [section] or key = value"));
    }
    if (section == nullptr) {
      return absl::InvalidArgumentError(
          StrCat("line ", line_number, ": key before the first [section]"));
    }
    std::string key(Trim(line.substr(0, delimiter)));
    absl::AsciiStrToLower(&key);
    (*section)[key] = std::string(Trim(line.substr(delimiter + 1)));
  }
  return ini;
}

AwsResolution ResolveAws(const ProviderConfig& config, const GetEnv& getenv) {
  AwsResolution out;
  out.region = config.region;
  if (out.region.empty()) out.region = Env(getenv, "AWS_REGION");
  if (out.region.empty()) out.region = Env(getenv, "AWS_DEFAULT_REGION");

  auto from_config =
      FromValues(config.access_key_id, config.secret_access_key, config.session_token,
                 "access_key_id", "secret_access_key", "the provider config");
  if (from_config.has_value()) {
    out.credentials = *std::move(from_config);
    if (out.credentials.ok()) out.credentials_source = "config";
    return out;
  }
  auto from_env = FromValues(Env(getenv, "AWS_ACCESS_KEY_ID"), Env(getenv, "AWS_SECRET_ACCESS_KEY"),
                             Env(getenv, "AWS_SESSION_TOKEN"), "AWS_ACCESS_KEY_ID",
                             "AWS_SECRET_ACCESS_KEY", "the environment");
  if (from_env.has_value()) {
    out.credentials = *std::move(from_env);
    if (out.credentials.ok()) out.credentials_source = "environment";
    return out;
  }

  std::string profile = config.profile;
  if (profile.empty()) profile = Env(getenv, "AWS_PROFILE");
  if (profile.empty()) profile = "default";
  const std::string path = CredentialsPath(getenv);
  const std::string looked = StrCat(
      "no AWS credentials: looked for access_key_id/secret_access_key in the provider config, "
      "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the environment, and profile '",
      profile, "' in ", path.empty() ? "the shared credentials file (HOME is not set)" : path);
  if (path.empty()) {
    out.credentials = absl::UnauthenticatedError(looked);
    return out;
  }
  std::optional<std::string> text = ReadFile(path);
  if (!text.has_value()) {
    out.credentials = absl::UnauthenticatedError(StrCat(looked, " (cannot read the file)"));
    return out;
  }
  absl::StatusOr<IniFile> ini = ParseIni(*text);
  if (!ini.ok()) {
    out.credentials = absl::UnauthenticatedError(StrCat(
        "cannot parse the AWS shared credentials file ", path, ": ", ini.status().message()));
    return out;
  }
  auto section = ini->find(profile);
  if (section == ini->end()) {
    out.credentials = absl::UnauthenticatedError(StrCat(looked, " (no such profile)"));
    return out;
  }
  auto value = [&](std::string_view key) {
    auto it = section->second.find(key);
    return it == section->second.end() ? std::string() : it->second;
  };
  const std::string where = StrCat("profile '", profile, "' in ", path);
  auto from_file =
      FromValues(value("aws_access_key_id"), value("aws_secret_access_key"),
                 value("aws_session_token"), "aws_access_key_id", "aws_secret_access_key", where);
  if (!from_file.has_value()) {
    out.credentials = absl::UnauthenticatedError(StrCat(looked, " (the profile has no keys)"));
    return out;
  }
  out.credentials = *std::move(from_file);
  if (out.credentials.ok()) out.credentials_source = where;
  return out;
}

}  // namespace basalt::models
