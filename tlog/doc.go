// Package tlog is Signet's transparency-log layer.
//
// It has three parts:
//   - an embedded log (Log, Handler) on github.com/transparency-dev/tessera
//     with POSIX storage that speaks Rekor v2's write API (POST
//     /api/v2/log/entries taking a hashedrekord v0.0.2 request) and serves its
//     signed-note checkpoint and C2SP tlog-tiles read-only, so Rekor v2 clients
//     (cosign v3 among them) can log to it through a signing config;
//   - client selection (Writer) for Rekor v1 and v2 from a Sigstore signing
//     config or a URL, through sigstore-go's Rekor clients;
//   - trust material (TrustedRoot, SigningConfig helpers) in Sigstore's JSON
//     formats, and offline consistency checks between two checkpoints.
//
// Inclusion proofs are verified offline by sigstore-go's verifier against a
// trusted root; see package verify.
package tlog
