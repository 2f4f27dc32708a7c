# Envelope parsing and decryption of untrusted bytes (src/tenancy/crypto).
basalt_fuzz(envelope_open_fuzz basalt_crypto)
