# JOSE parsers of untrusted bytes (src/tenancy/jose).
basalt_fuzz(jwt_verify_fuzz basalt_jose)
basalt_fuzz(jwks_parse_fuzz basalt_jose)
