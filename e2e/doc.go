// Package e2e holds the end-to-end suite (build tag e2e): Signet against a
// real distribution registry, go-containerregistry's registry with the
// referrers API, and the real cosign v3 and v2 binaries, all on 127.0.0.1;
// and logs: rekor-tiles v2, Signet's own, and Rekor v1 (rekor-server on
// Trillian and MariaDB, in rekorv1_test.go).
// Run it with `make e2e`, which builds the pinned tools into bin/ first.
package e2e
