package verify

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode"

	"github.com/transparency-dev/merkle/proof"
)

// This file turns what sigstore-go, protojson and encoding/json report into
// sentences for people: what was expected, what was found, what it means.
// The sentences never decide a verdict or a class — the caller has already
// decided which Err value a failure is — so a library that rewords its
// errors changes only the words here, never what is refused. Where a cause
// is dropped from a message, it is because its text is a library's
// internals (byte slices, Go type names, thresholds), not information for
// the person reading it.

// untrustedKey explains a signature that no trusted key verifies. claimed
// is the key hint the bundle carries ("" for none): the signer's own,
// unverified claim, which can only tell a signature by another key from an
// altered one, never prove either.
func (v *Verifier) untrustedKey(claimed string) error {
	trusted := v.trustedKeyList()
	for _, k := range v.keys {
		if claimed != "" && k.id == claimed {
			return fmt.Errorf("%w: the signature names the trusted key %s (key id %s) but does not verify with it: "+
				"the signed content or the signature was altered after signing, or another key made it and copied that key id (the key id is unverified)",
				ErrBadSignature, k.name, k.id)
		}
	}
	if claimed == "" {
		return fmt.Errorf("%w: signed by a key that is not among the trusted keys, or altered after signing (the signature names no key id; trusted: %s)",
			ErrBadSignature, trusted)
	}
	return fmt.Errorf("%w: signed by a key that is not among the trusted keys (the signature claims key id %s, unverified; trusted: %s)",
		ErrBadSignature, printable(claimed), trusted)
}

// trustedKeyList names the trusted keys and their ids: "release.pub = ID, ...".
func (v *Verifier) trustedKeyList() string {
	parts := make([]string, len(v.keys))
	for i, k := range v.keys {
		parts[i] = k.name + " = " + k.id
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// logFailure explains why a log entry from a trusted log did not verify,
// for a signature whose key or certificate did.
func logFailure(err error) error {
	return fmt.Errorf("%w: %s", ErrTransparencyLog, logProblem(err))
}

func logProblem(err error) string {
	msg := err.Error()
	var mismatch proof.RootMismatchError
	switch {
	case errors.As(err, &mismatch), strings.Contains(msg, "verifying inclusion"), strings.Contains(msg, "index is beyond size"),
		strings.Contains(msg, "wrong proof size"), strings.Contains(msg, "inclusion proof"):
		return "the transparency-log entry does not prove inclusion in the log's checkpoint " +
			"(the entry or its proof was altered, or it was made for another signature, or it belongs to another log)"
	case strings.Contains(msg, "checkpoint"):
		return "the log checkpoint in the bundle is not signed by the trusted log's key " +
			"(the checkpoint was altered, or another log signed it)"
	case strings.Contains(msg, "does not match"):
		return "the transparency-log entry records another signature, key or payload than this bundle's " +
			"(it was made for another signature and copied here)"
	case strings.Contains(msg, "integrated time outside certificate validity"):
		return "the time the log recorded the entry is outside the signing certificate's validity"
	case strings.Contains(msg, "duplicate tlog entries"):
		return "the bundle lists the same log entry more than once"
	case strings.Contains(msg, "too many tlog entries"):
		return "the bundle carries more log entries than a verifier reads"
	case strings.Contains(msg, "not enough verified log entries"):
		return "no log entry from a trusted log verified (its signed entry timestamp does not verify with the trusted log's key)"
	}
	return "the transparency-log entry does not verify against the trusted log (its proof, checkpoint or recorded signature)"
}

// certificateProblem explains why a certificate-signed bundle does not
// verify against the trusted root, from what sigstore-go reports.
func certificateProblem(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "failed to verify timestamps"):
		return "its RFC 3161 timestamp does not verify with a timestamp authority of the trusted root"
	case strings.Contains(msg, "failed to verify leaf certificate"):
		return "its certificate was not issued by a certificate authority of the trusted root, " +
			"or was not valid at the time the bundle proves it signed"
	case strings.Contains(msg, "signed certificate timestamp"):
		return "its certificate carries no valid signed certificate timestamp (SCT) from a certificate-transparency log of the trusted root"
	case strings.Contains(msg, "failed to verify signature"):
		return "the signature does not verify with the key in its certificate: the signed content or the signature was altered after signing"
	}
	return "its certificate, timestamp or signature does not verify against the trusted root"
}

// jsonProblem describes why encoding/json refused a document, without Go
// type names.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("it is not valid JSON (at byte %d)", syntax.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "the document"
		} else {
			field = "the field " + field
		}
		return fmt.Sprintf("%s is a JSON %s, where %s is expected", field, typ.Value, jsonKind(typ.Type))
	}
	return "it is not the expected JSON"
}

// jsonKind names the JSON value a Go type is decoded from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another value"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "another value"
}

// protoProblem describes why a bundle did not parse as a Sigstore bundle.
func protoProblem(data []byte, err error) string {
	if !json.Valid(data) {
		return "it is not valid JSON (cut short or corrupted)"
	}
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "proto:")
	msg = strings.TrimPrefix(msg, "validation error:")
	msg = strings.TrimSpace(msg)
	if i := strings.Index(msg, "): "); strings.HasPrefix(msg, "(line ") && i > 0 {
		msg = msg[i+3:] // protojson's "(line 1:2): " position prefix
	}
	return "it is JSON but not a Sigstore bundle: " + printable(msg)
}

// printable returns s for a message, quoted when it holds anything but
// visible characters and cut to 100 characters: what a signer wrote into a
// bundle is shown, never allowed to forge lines of the report.
func printable(s string) string {
	if len(s) > 100 {
		s = s[:100] + "…"
	}
	for _, r := range s {
		if !unicode.IsGraphic(r) || unicode.IsSpace(r) && r != ' ' {
			return strconv.Quote(s)
		}
	}
	return s
}

// materialProblem describes why a bundle's certificate did not parse.
func materialProblem(err error) string {
	msg := err.Error()
	for _, prefix := range []string{"validation error:", "x509:"} {
		msg = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(msg), prefix))
	}
	return printable(msg)
}
