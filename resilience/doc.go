// Package resilience holds Signet's fault-injection tests: every client
// command's library path (sign, attest, verify, inspect, admission review)
// against a registry behind internal/faultproxy, with the documented
// outcome for each fault — success after retry, or a transient-class error
// within the deadline — and the registry's state checked for half-written
// artifacts. It has no code of its own.
package resilience
