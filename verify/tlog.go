package verify

import (
	"encoding/hex"
	"fmt"

	"github.com/sigstore/sigstore-go/pkg/bundle"
)

// tlogPlan records the bundle's log entries on sig and decides whether they
// are checked: they are when a trusted log made one (and, in required mode,
// one must be there).
func (v *Verifier) tlogPlan(b *bundle.Bundle, mode TlogMode, sig *Signature) (bool, error) {
	if mode == "" {
		mode = TlogOptional
	}
	trusted := 0
	for _, e := range b.GetVerificationMaterial().GetTlogEntries() {
		le := LogEntry{Index: e.GetLogIndex(), Kind: e.GetKindVersion().GetKind() + "/" + e.GetKindVersion().GetVersion()}
		for _, tm := range v.logRoots() {
			if l, ok := tm.RekorLogs()[hex.EncodeToString(e.GetLogId().GetKeyId())]; ok {
				le.URL = l.BaseURL
				trusted++
				break
			}
		}
		sig.Log = append(sig.Log, le)
	}
	switch {
	case mode == TlogSkip:
		sig.check("tlog", Skip, "transparency log not checked (skip)")
		return false, nil
	case mode == TlogRequired && len(v.logRoots()) == 0:
		return false, fmt.Errorf("%w: a log entry is required but no trusted root lists any log", ErrTransparencyLog)
	case mode == TlogRequired && len(sig.Log) == 0:
		detail := ""
		if ts, _ := b.Timestamps(); len(ts) > 0 {
			detail = " (it carries only an RFC 3161 timestamp, as GitHub's attestations for private repositories do; transparencyLog: optional accepts it)"
		}
		return false, fmt.Errorf("%w: a log entry is required and the bundle has none%s", ErrTransparencyLog, detail)
	case mode == TlogRequired && trusted == 0:
		return false, fmt.Errorf("%w: a log entry is required and none of the bundle's %d entries is from a trusted log", ErrTransparencyLog, len(sig.Log))
	case trusted == 0:
		detail := "no log entry in the bundle"
		if len(sig.Log) > 0 {
			detail = fmt.Sprintf("%d log entries, none from a trusted log: not checked", len(sig.Log))
		}
		sig.check("tlog", Skip, detail+" (optional)")
		return false, nil
	}
	return true, nil
}

// passTlog marks the trusted entries verified and records the check.
func (v *Verifier) passTlog(sig *Signature) {
	detail := ""
	for i := range sig.Log {
		if sig.Log[i].URL != "" {
			sig.Log[i].Verified = true
			if detail == "" {
				detail = fmt.Sprintf("entry %d in %s (%s): inclusion proof and checkpoint verified offline", sig.Log[i].Index, sig.Log[i].URL, sig.Log[i].Kind)
			}
		}
	}
	sig.check("tlog", Pass, detail)
}
