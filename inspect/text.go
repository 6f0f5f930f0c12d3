package inspect

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// TextOptions configure WriteText.
type TextOptions struct {
	// Color adds ANSI colours (use it only on a terminal, and not when
	// NO_COLOR is set).
	Color bool
}

type painter struct{ on bool }

func (p painter) paint(code, s string) string {
	if !p.on || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (p painter) bold(s string) string   { return p.paint("1", s) }
func (p painter) dim(s string) string    { return p.paint("2", s) }
func (p painter) green(s string) string  { return p.paint("32", s) }
func (p painter) red(s string) string    { return p.paint("31", s) }
func (p painter) yellow(s string) string { return p.paint("33", s) }
func (p painter) cyan(s string) string   { return p.paint("36", s) }

// WriteText writes the report as a tree for a terminal.
func WriteText(w io.Writer, rep *Report, o TextOptions) error {
	rep = printable(rep)
	p := painter{o.Color}
	var b strings.Builder
	head := p.bold(rep.Image)
	if rep.Tag != "" {
		head += p.dim(" (tag " + rep.Tag + ")")
	}
	if rep.Policy != nil {
		head += p.dim(" judged by policy " + firstOf(rep.Policy.Name, "(unnamed)") + " " + short(rep.Policy.Hash, 12))
	}
	b.WriteString(head + "\n")
	if rep.Policy == nil {
		b.WriteString(p.yellow("  NOT verified: signers, log entries and times below are what each artifact claims; give --policy to verify") + "\n")
	}
	if sh := rep.SignedHead; sh != nil {
		switch {
		case sh.Digest == "":
			b.WriteString(p.yellow("  signed head: none for tag "+sh.Tag) + p.dim(fmt.Sprintf(" (targets v%d)", sh.TargetsVersion)) + "\n")
		case sh.Matches:
			b.WriteString(p.green("  signed head: "+sh.Tag+" → "+sh.Digest) + p.dim(fmt.Sprintf(" (targets v%d, timestamp expires %s; as stored, verify with --policy)", sh.TargetsVersion, sh.Expires.Format(time.RFC3339))) + "\n")
		default:
			b.WriteString(p.red("  signed head: "+sh.Tag+" → "+sh.Digest+", but the registry's tag names another digest") + p.dim(fmt.Sprintf(" (targets v%d)", sh.TargetsVersion)) + "\n")
		}
	}
	writeSubject(&b, p, rep.Subject, "", true)
	_, err := io.WriteString(w, b.String())
	return err
}

func branch(prefix string, last bool) (here, below string) {
	if last {
		return prefix + "└── ", prefix + "    "
	}
	return prefix + "├── ", prefix + "│   "
}

func writeSubject(b *strings.Builder, p painter, s *Subject, prefix string, last bool) {
	here, below := branch(prefix, last)
	line := p.cyan(s.Digest) + " " + p.dim(s.MediaType)
	if s.Platform != "" {
		line = p.bold(s.Platform) + " " + line
	}
	if s.Verdict != nil {
		line += "  " + verdictText(p, s.Verdict)
	}
	b.WriteString(here + line + "\n")
	if s.Verdict != nil && s.Verdict.Outcome != "allowed" && s.Verdict.Outcome != "verified" {
		b.WriteString(below + "│ " + p.dim("why        ") + s.Verdict.Check + "\n")
	}
	if s.Recalled != "" {
		b.WriteString(below + "│ " + p.red("recalled   ") + s.Recalled + "\n")
	}
	if s.Error != "" {
		b.WriteString(below + "│ " + p.red("error      ") + s.Error + "\n")
	}
	n := len(s.Artifacts) + len(s.Platforms)
	if n == 0 {
		b.WriteString(below + "└── " + p.dim("nothing attached") + "\n")
		return
	}
	i := 0
	for _, a := range s.Artifacts {
		i++
		writeArtifact(b, p, a, below, i == n)
	}
	for _, c := range s.Platforms {
		i++
		writeSubject(b, p, c, below, i == n)
	}
}

func writeArtifact(b *strings.Builder, p painter, a *Artifact, prefix string, last bool) {
	here, below := branch(prefix, last)
	title := p.bold(a.Kind)
	if a.Kind == KindAttestation && a.PredicateType != "" {
		title += " " + a.PredicateType
	}
	title += p.dim(" · " + layoutName(a.Layout) + " · " + a.Format + " · " + shortDigest(a.Manifest))
	b.WriteString(here + title + "\n")
	field := func(name, value string) {
		if value != "" {
			b.WriteString(below + p.dim(fmt.Sprintf("%-11s", name)) + value + "\n")
		}
	}
	if a.Unreadable != "" {
		field("unreadable", p.red(a.Unreadable))
		return
	}
	if a.Signer != nil {
		field("signer", a.Signer.Description)
	}
	if a.Created != nil {
		field("created", a.Created.Format(time.RFC3339))
	}
	if a.Notation != nil {
		field("notation", notationText(a.Notation))
	}
	for _, e := range a.Log {
		s := fmt.Sprintf("#%d", e.Index)
		if e.Origin != "" {
			s += " in " + e.Origin
		} else if e.LogID != "" {
			s += " in log " + short(e.LogID, 16)
		}
		var extra []string
		if e.Kind != "" {
			extra = append(extra, e.Kind)
		}
		if e.Proof != "" {
			extra = append(extra, e.Proof)
		}
		if len(extra) > 0 {
			s += " (" + strings.Join(extra, ", ") + ")"
		}
		field("log", s)
	}
	for _, t := range a.Timestamps {
		field("timestamp", t.Time.Format(time.RFC3339)+" by "+t.Authority)
	}
	field("content", a.Summary)
	if a.Verdict != nil {
		field("verdict", verdictText(p, a.Verdict))
	}
}

func verdictText(p painter, v *Verdict) string {
	switch v.Outcome {
	case "allowed":
		s := p.green("✔ allowed")
		if v.Rule != "" {
			s += p.dim(" by rule " + quote(v.Rule))
		}
		return s
	case "verified":
		s := p.green("✔ verified")
		if v.Signer != "" {
			s += " as " + v.Signer
		}
		return s
	case "denied":
		return p.red("✘ denied") + p.dim(ruleSuffix(v.Rule))
	case "warned":
		return p.yellow("! would be denied (warn/audit mode)") + p.dim(ruleSuffix(v.Rule))
	case "refused":
		return p.red("✘ refused: ") + v.Check
	case "unused":
		return p.dim("· not used by the policy")
	case "unverified":
		return p.yellow("! not verified (platforms: any)") + p.dim(ruleSuffix(v.Rule))
	}
	return v.Outcome
}

func ruleSuffix(rule string) string {
	if rule == "" {
		return " (no rule matches)"
	}
	return " by rule " + quote(rule)
}

func quote(s string) string { return `"` + s + `"` }

// shortDigest shows sha256:0123456789ab.
func shortDigest(d string) string {
	if alg, hex, ok := strings.Cut(d, ":"); ok && len(hex) > 12 {
		return alg + ":" + hex[:12]
	}
	return d
}
