# Guardrail scanner: whole-text vs streaming equivalence over fuzzer-chosen chunkings.
basalt_fuzz(guardrail_scan_fuzz basalt_guardrails)
