// Package tlog is Signet's transparency-log client layer.
//
// It has two parts:
//   - client selection (Writer) for Rekor v1 and v2 from a Sigstore signing
//     config or a URL, through sigstore-go's Rekor clients;
//   - trust material (TrustedRoot, SigningConfig helpers) in Sigstore's JSON
//     formats, a log directory's state (Info, the log's key), and offline
//     consistency checks between two checkpoints.
//
// The embedded log itself, which `signet log serve` and `signet quickstart`
// run, is package tlog/logserver: its storage (Tessera's POSIX and MySQL
// drivers, Badger) stays out of the programs that only use logs.
//
// Inclusion proofs are verified offline by sigstore-go's verifier against a
// trusted root; see package verify.
package tlog
