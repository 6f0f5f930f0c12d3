// Package logserver is Signet's embedded transparency log (Log, Handler),
// on github.com/transparency-dev/tessera with POSIX storage, or MySQL and
// MariaDB, that speaks Rekor v2's write API (POST /api/v2/log/entries taking
// a hashedrekord v0.0.2 request) and serves its signed-note checkpoint and
// C2SP tlog-tiles read-only, so Rekor v2 clients (cosign v3 among them) can
// log to it through a signing config. Every entry is de-duplicated, by an
// index in Badger (POSIX) or in the database (MySQL).
//
// Clients of a log, and the trust material that points at one, are package
// tlog; `signet log serve` and `signet quickstart` are the commands that
// link this package (a split build hands them to signet-server).
package logserver
