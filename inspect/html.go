package inspect

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"sync"
	"time"
)

//go:embed report.html.tmpl
var reportTemplate string

// htmlTemplate is parsed on first use: at start-up it would cost every
// command, reports or none.
var htmlTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report").Funcs(htmlFuncs).Parse(reportTemplate))
})

var htmlFuncs = template.FuncMap{
	"short":        shortDigest,
	"hash12":       func(s string) string { return short(s, 12) },
	"layout":       layoutName,
	"notationText": notationText,
	"time": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.Format(time.RFC3339)
	},
	"verdictClass": func(v *Verdict) string {
		if v == nil {
			return "none"
		}
		switch v.Outcome {
		case "allowed", "verified":
			return "ok"
		case "denied", "refused":
			return "bad"
		case "warned", "unverified":
			return "warn"
		}
		return "none"
	},
	"verdictWord": func(v *Verdict) string {
		switch v.Outcome {
		case "allowed":
			return "✔ allowed"
		case "verified":
			if v.Signer != "" {
				return "✔ verified as " + v.Signer
			}
			return "✔ verified"
		case "denied":
			return "✘ denied"
		case "refused":
			return "✘ refused"
		case "warned":
			return "! would be denied"
		case "unused":
			return "not used by the policy"
		case "unverified":
			return "! not verified (platforms: any)"
		}
		return v.Outcome
	},
	"logLine": func(e LogEntry) string {
		s := fmt.Sprintf("#%d", e.Index)
		if e.Origin != "" {
			s += " in " + e.Origin
		}
		return s
	},
	"lower": strings.ToLower,
}

// htmlView is what the template renders.
type htmlView struct {
	*Report
	SBOMs []*Artifact
	Vulns []*Artifact
	Count map[string]int
}

// WriteHTML writes the report as one self-contained HTML page: no external
// assets, no network. It shows the image's supply chain as a picture, the
// SBOM components (sortable) and the vulnerabilities by severity.
func WriteHTML(w io.Writer, rep *Report) error {
	v := htmlView{Report: rep, Count: map[string]int{}}
	var walk func(*Subject)
	walk = func(s *Subject) {
		for _, a := range s.Artifacts {
			v.Count[a.Kind]++
			if a.Unreadable != "" {
				v.Count["unreadable"]++
			}
			if a.SBOM != nil {
				v.SBOMs = append(v.SBOMs, a)
			}
			if a.Vulnerabilities != nil {
				v.Vulns = append(v.Vulns, a)
			}
			v.Count["log"] += len(a.Log)
		}
		for _, c := range s.Platforms {
			v.Count["platform"]++
			walk(c)
		}
	}
	walk(rep.Subject)
	return htmlTemplate().Execute(w, v)
}
