package fleet

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode"
)

// WriteTable prints the results as a table, the headline (newly denied)
// first, then the summary line.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAMESPACE\tWORKLOAD\tCONTAINER\tIMAGE\tTODAY\tNEW\tCHANGE\tREASON")
	for _, res := range r.Results {
		today := "-"
		if res.Current != nil {
			today = string(res.Current.Verdict)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cell(res.Namespace), cell(res.workload()), cell(res.Container), cell(res.Image),
			today, res.New.Verdict, res.Change, cell(res.reason()))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, r.SummaryLine())
	return err
}

// workload names the result's workload: "Deployment/web", with the owned
// object running the image when it is not the workload's template.
func (res *Result) workload() string {
	s := res.Kind
	if res.Name != "" {
		s += "/" + res.Name
	}
	if res.Object != "" {
		s += " (" + res.Object + ")"
	}
	return s
}

// reason is why the image fails under the new policy or, when it passes
// there, why it failed today.
func (res *Result) reason() string {
	if res.New.Reason != "" {
		return res.New.Reason
	}
	if res.Current != nil && res.Current.Reason != "" {
		return "today: " + res.Current.Reason
	}
	return ""
}

// cell is s on one line of printable text ("-" when empty): a registry's
// error text ends lines and could carry terminal escapes.
func cell(s string) string {
	s = strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || !unicode.IsPrint(r) && !unicode.IsSpace(r) {
			return ' '
		}
		return r
	}, s)), " ")
	if s == "" {
		return "-"
	}
	return s
}

// SummaryLine is the report in one line: "3 workloads, 5 images: 1 would
// be newly denied (in 1 workload), 0 newly allowed, …".
func (r *Report) SummaryLine() string {
	s := r.Summary
	var b strings.Builder
	if s.Workloads > 0 {
		fmt.Fprintf(&b, "%s, ", plural(s.Workloads, "workload"))
	}
	fmt.Fprintf(&b, "%s: ", plural(s.Images, "image"))
	if r.Against {
		fmt.Fprintf(&b, "%d would be newly denied%s, %d newly allowed, %d still denied, %d unchanged",
			s.NewlyDenied, inWorkloads(s.NewlyDenied, s.DeniedWorkloads), s.NewlyAllowed, s.StillDenied, s.Unchanged)
	} else {
		fmt.Fprintf(&b, "%d denied under the new policy%s, %d allowed", s.Denied, inWorkloads(s.Denied, s.DeniedWorkloads), s.Allowed)
	}
	if s.Unknown > 0 {
		fmt.Fprintf(&b, ", %d could not be checked (not counted as allowed)", s.Unknown)
	}
	if s.SkippedTags > 0 {
		fmt.Fprintf(&b, "; %s naming signatures or attestations skipped", plural(s.SkippedTags, "repository tag"))
	}
	return b.String()
}

func inWorkloads(images, workloads int) string {
	if images == 0 || workloads == 0 {
		return ""
	}
	return " (in " + plural(workloads, "workload") + ")"
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
