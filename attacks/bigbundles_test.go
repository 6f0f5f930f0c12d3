package attacks

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/signet-dev/signet/oci"
	"github.com/signet-dev/signet/verify"
)

// bigReview is a review predicate of over 1 MiB (so its bundle is read
// split from the registry and its predicate checked in place): one flat
// object of many members, approved first as first and again as last.
func bigReview(first, last string) []byte {
	var sb strings.Builder
	sb.WriteString(`{"approved":` + first)
	for i := 0; sb.Len() < 1<<20+1000; i++ {
		fmt.Fprintf(&sb, `,"file-%d":"sha256:%064d"`, i, i)
	}
	if last != "" {
		sb.WriteString(`,"approved":` + last)
	}
	sb.WriteString(`}`)
	return []byte(sb.String())
}

// Large attestations: read split (the DSSE payload decoded as the bundle
// streams, the predicate checked in place), they are judged as a whole
// parse judges them.
func init() {
	cond, _ := verify.CompileCondition("predicate.approved == true")
	req := verify.AttestationRequest{PredicateType: reviewType, Condition: cond}
	statement := func(predicate []byte, images ...string) []byte {
		var subjects []string
		for _, d := range images {
			subjects = append(subjects, `{"name":"app","digest":{"sha256":"`+d[strings.LastIndex(d, ":")+1:]+`"}}`)
		}
		return []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[` + strings.Join(subjects, ",") +
			`],"predicateType":"` + reviewType + `","predicate":` + string(predicate) + `}`)
	}
	// rewrite re-attaches image's only bundle to another image, edited.
	rewrite := func(w *world, from, to string, edit func([]byte) []byte) {
		t, err := w.client.Resolve(w.ctx, from)
		if err != nil {
			w.t.Fatal(err)
		}
		arts, err := w.client.Discover(w.ctx, t)
		if err != nil || len(arts) != 1 || arts[0].Kind != oci.KindBundle || arts[0].Parts == nil {
			w.t.Fatalf("want one bundle read split, got %+v, %v", arts, err)
		}
		w.attachBundle(to, edit(arts[0].BundleJSON()), reviewType)
	}
	register(
		row{name: "control: a large attestation by the trusted key (read split), condition holds", entry: entryAttestation,
			run: func(w *world) verdict {
				d := w.image("team/app:v1").String()
				w.attestStatement("release", d, statement(bigReview("true", ""), d))
				return w.verifyAttestation(d, req)
			},
			want: allowed()},
		row{name: "large attestation whose predicate repeats a member among many (false, then true)", entry: entryAttestation,
			run: func(w *world) verdict {
				d := w.image("team/app:v1").String()
				w.attestStatement("release", d, statement(bigReview("false", "true"), d))
				return w.verifyAttestation(d, req)
			},
			want: refused(verify.ClassInvalid, "not a well-formed in-toto statement")},
		row{name: "control: a large attestation re-spelled with an escaped newline in its base64 (left whole, the same signed bytes)", entry: entryAttestation,
			run: func(w *world) verdict {
				// Signed for both images, attached to the first.
				d, e := w.image("team/app:v1").String(), w.image("team/app:v2").String()
				w.attestStatement("release", d, statement(bigReview("true", ""), d, e))
				rewrite(w, d, e, func(b []byte) []byte {
					at := bytes.Index(b, []byte(`"payload":"`)) + len(`"payload":"`) + 4
					return append(append(append([]byte{}, b[:at]...), `\n`...), b[at:]...)
				})
				return w.verifyAttestation(e, req)
			},
			want: allowed()},
		row{name: "large attestation with its payload emptied and a second payload in a signature", entry: entryAttestation,
			run: func(w *world) verdict {
				d := w.image("team/app:v1").String()
				w.attestStatement("release", d, statement(bigReview("true", ""), d))
				e := w.image("team/app:v2").String()
				rewrite(w, d, e, func(b []byte) []byte {
					at := bytes.Index(b, []byte(`"payload":"`)) + len(`"payload":"`)
					end := at + bytes.IndexByte(b[at:], '"')
					text := string(b[at:end])
					out := string(b[:at]) + string(b[end:])
					return []byte(strings.Replace(out, `"sig":"`, `"payload":"`+text+`","sig":"`, 1))
				})
				return w.verifyAttestation(e, req)
			},
			want: refused(verify.ClassInvalid, `unknown field "payload"`)},
	)
}
