// Router: maps (method, path) to a handler. Patterns are literal segments and
// `{name}` parameters matching one segment, e.g. "/model/{modelId}/converse";
// a final `{name+}` matches the rest of the path. Parameters are
// percent-decoded. A path that matches with another method answers 405 with
// `Allow`; no match at all answers 404.
//
// Routes are added at start-up, before the server runs; Match is then safe to
// call from every io thread at once (the table is never modified again).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "net/authenticator.h"
#include "net/http_types.h"

namespace basalt::net {

struct RouteOptions {
  ErrorStyle error_style = ErrorStyle::kNative;
  // Public routes skip authentication (health, readiness, metrics).
  bool public_route = false;
  AuthScheme auth = AuthScheme::kBearer;
  // Cancel the handler when the client disconnects before the answer is ready
  // (model calls), at the cost of watching the socket while it runs.
  bool cancel_on_disconnect = false;
  // What the caller must be allowed to do (checked after authentication).
  Permission permission = Permission::kNone;
};

struct Route {
  std::string method;
  std::string pattern;
  Handler handler;
  RouteOptions options;
  std::vector<std::string> segments;  // pattern split on '/'
};

struct RouteMatch {
  const Route* route = nullptr;  // null: no route for this method and path
  std::vector<std::pair<std::string_view, std::string>> params;
  std::string allow;  // when route is null but the path exists: "GET, POST"
  bool bad_escape = false;  // a path parameter had an invalid %-escape
};

class Router {
 public:
  void Add(std::string method, std::string pattern, Handler handler, RouteOptions options = {});
  RouteMatch Match(std::string_view method, std::string_view path) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace basalt::net
