// Where the Bedrock provider finds its AWS credentials and region.
//
// Credentials, first match wins:
//   1. the provider's config: access_key_id + secret_access_key (+ session_token);
//   2. the environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN);
//   3. the shared credentials file, AWS_SHARED_CREDENTIALS_FILE or else
//      $HOME/.aws/credentials: the profile named by the config's `profile`, else
//      AWS_PROFILE, else "default" (keys aws_access_key_id, aws_secret_access_key,
//      aws_session_token).
// A source that names a key id without a secret (or the reverse) is an error, not
// skipped, as in the AWS SDKs. Not supported: ~/.aws/config (SSO, assume-role,
// credential_process), the container and instance metadata services.
//
// Region: the config's `region`, else AWS_REGION, else AWS_DEFAULT_REGION.
//
// Resolution reads the environment and the file once (at provider construction);
// credentials rotated later are not picked up until restart.
//
// Thread-safety: the functions are pure apart from reading the file and calling
// the given environment lookup.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/config_sections.h"
#include "net/sigv4.h"

namespace basalt::models {

// Looks up one environment variable; nullopt when unset. Injected so tests need
// not touch the process environment.
using GetEnv = std::function<std::optional<std::string>(std::string_view name)>;

// std::getenv.
GetEnv ProcessEnv();

// The INI subset the shared credentials file uses: "[section]" lines, "key = value"
// (or "key: value") lines with key and value trimmed and keys lower-cased, blank
// lines, and whole-line comments starting with '#' or ';'. Indented lines (nested
// values, which only the config file uses) are skipped. A repeated key or section
// merges, the last value winning.
// Errors: kInvalidArgument "line N: ..." for a key before the first section or
// any other line.
using IniSection = std::map<std::string, std::string, std::less<>>;
using IniFile = std::map<std::string, IniSection, std::less<>>;
absl::StatusOr<IniFile> ParseIni(std::string_view text);

struct AwsResolution {
  // kUnauthenticated when no source has credentials; the message names every
  // place looked in (or the source that is incomplete or unreadable).
  absl::StatusOr<sigv4::AwsCredentials> credentials =
      absl::UnauthenticatedError("credentials not resolved");
  // "config", "environment" or "profile 'x' in <path>"; empty without credentials.
  std::string credentials_source;
  // Empty when neither the config nor the environment names one.
  std::string region;
};

AwsResolution ResolveAws(const ProviderConfig& config, const GetEnv& getenv);

}  // namespace basalt::models
