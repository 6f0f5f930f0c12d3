package attacks

import (
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

// Rows on when the policy engine reads cosign's legacy .sig tag: under a
// rule of one signer only after the referrers do not meet it, or at once in
// a repository where it found a signature there before; under a threshold
// of two or more always at once. Whichever way it is read, what it holds is
// judged as the full check judges it.

// signInSigTag signs image with who's key in the .sig tag only.
func (w *world) signInSigTag(who, image string) {
	w.t.Helper()
	if _, err := w.signers[who].SignImage(w.ctx, image, sign.Request{Layout: sign.LayoutLegacy}); err != nil {
		w.t.Fatal(err)
	}
}

func init() {
	register(
		row{name: "rule of one signer: the attacker's signature in the referrers and in the .sig tag read after them", entry: entryPolicy,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.sign("attacker", d.String())
				w.signInSigTag("attacker", d.String())
				return w.decide(releasePolicy, d.String())
			},
			want: refused(verify.ClassInvalid, "0 of 1 required signers")},
		row{name: "control: the attacker's signature in the referrers, release's in the .sig tag read after them", entry: entryPolicy,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.sign("attacker", d.String())
				w.signInSigTag("release", d.String())
				return w.decide(releasePolicy, d.String())
			},
			want: allowed()},
		row{name: "a repository the engine remembers as signed in .sig tags: the attacker's .sig signature on its next image", entry: entryPolicy,
			run:  nextInRememberedRepo("attacker"),
			want: refused(verify.ClassInvalid, "0 of 1 required signers")},
		row{name: "control: a repository the engine remembers as signed in .sig tags: release's .sig signature on its next image", entry: entryPolicy,
			run:  nextInRememberedRepo("release"),
			want: allowed()},
		row{name: "threshold two: release in the referrers, the attacker in the .sig tag read at once", entry: entryPolicy,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.sign("release", d.String())
				w.signInSigTag("attacker", d.String())
				return w.decide(thresholdPolicy, d.String())
			},
			want: refused(verify.ClassPolicyDenied, "1 of 2 required signers")},
		row{name: "control: threshold two, release in the referrers and second in the .sig tag read at once", entry: entryPolicy,
			run: func(w *world) verdict {
				d := w.image("team/app:v1")
				w.sign("release", d.String())
				w.signInSigTag("second", d.String())
				return w.decide(thresholdPolicy, d.String())
			},
			want: allowed()},
	)
}

// nextInRememberedRepo has one engine judge a repository's first image,
// signed by release in its .sig tag (so the engine remembers the
// repository and reads the .sig tag of its next images at once), then the
// next image, signed by who in its .sig tag.
func nextInRememberedRepo(who string) func(w *world) verdict {
	return func(w *world) verdict {
		e := w.engine(releasePolicy)
		first := w.image("team/app:v1")
		w.signInSigTag("release", first.String())
		if d := e.Decide(w.ctx, first.String()); !d.Allowed {
			w.t.Fatalf("the repository's first image, signed by release in its .sig tag, was refused: %s", d.Reason)
		}
		next := w.image("team/app:v2")
		w.signInSigTag(who, next.String())
		return decision(e.Decide(w.ctx, next.String()))
	}
}
