package inspect

import (
	"encoding/json"

	"github.com/signet-dev/signet/internal/termtext"
)

// printable returns a copy of rep safe to print on a terminal: what a
// registry or a signed document says (a media type, a predicate type, a
// subject's name, a certificate's subject) has its control characters
// escaped, so an escape sequence in it cannot rewrite what the reader sees.
func printable(rep *Report) *Report {
	raw, err := json.Marshal(rep)
	if err != nil {
		return rep
	}
	var out Report
	if err := json.Unmarshal(raw, &out); err != nil {
		return rep
	}
	termtext.Clean(&out)
	return &out
}
