package policy

// Specificity ranks a pattern as Compiled.Matching does when several
// patterns match an image: the higher value wins, and between equal values
// the rule earlier in the document. Give it the pattern as Rule.Normalized
// spells it. A tool that writes policies (signet policy import) uses it to
// know which of two overlapping rules applies to the images both match.
func Specificity(normalized string) int { return specificity(normalized) }
