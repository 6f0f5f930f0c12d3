// Package attacks holds Signet's standing attack corpus: its tests try, as
// an attacker with push access to the registry (or control of a document
// Signet parses) would, to get an image accepted that the full
// verification refuses, through every entry point — verify, verify
// --policy, verify-attestation, admission review and webhook, the push gate
// and inspect. Each attack is one table row with the refusal class and
// reason it must meet; legitimate paths are rows too (controls), so a fix
// that refuses everything fails the corpus as surely as a hole does.
//
// The package has no code of its own; see the _test.go files, and
// docs/threat-model.md for what each check defends against.
package attacks
