package migrate

import (
	"fmt"

	"github.com/signet-dev/signet/attest"
)

// attestation translates an attestation requirement.
func (k *kyTranslator) attestation(field string, at kyAttestation) {
	typ := at.Type
	if typ == "" {
		typ = at.PredicateType
	}
	name := at.Name
	if name == "" {
		name = typ
	}
	if typ == "" {
		k.sc.note(field, "the attestation names no type, so Kyverno failed the rule for every image; the rule refuses every image it applies to, as Kyverno did")
		k.req.refuse(field + ": no predicate type (Kyverno fails the rule)")
		return
	}
	if _, _, err := attest.ResolveType(typ); err != nil {
		k.sc.untranslated(field+".type", typ, "", "the predicate type %q is not a URI (Signet needs https://...), and Kyverno matches it exactly, so no Signet attestation requirement says the same; the rule refuses every image it applies to until you finish it", typ)
		k.req.refuse(fmt.Sprintf("%s: predicate type %q", field, typ))
		return
	}
	var groups [][]string
	if len(at.Attestors) == 0 {
		groups = append(groups, k.anyAttestor(field))
	}
	for i, set := range at.Attestors {
		groups = append(groups, k.attestorGroups(fmt.Sprintf("%s.attestors[%d]", field, i), set)...)
	}
	cond, comment := k.conditions(field, at)
	for i, g := range groups {
		a := attestation{name: name, predicateType: typ, signers: g, condition: cond, comment: comment}
		if len(groups) > 1 {
			a.name = fmt.Sprintf("%s #%d", name, i+1)
		}
		k.req.attestations = append(k.req.attestations, a)
	}
}

// anyAttestor is who may sign an attestation that names no attestors:
// Kyverno then accepts any certificate of the trusted authorities; the
// import keeps the rule's own signers where it has some (stricter).
func (k *kyTranslator) anyAttestor(field string) []string {
	var ids []string
	for _, c := range k.req.clauses {
		ids = append(ids, c.ids...)
	}
	if len(ids) > 0 {
		k.sc.stricter(field, "the attestation names no attestors, so Kyverno accepted it signed by any certificate of the trusted authorities; the import requires one of the rule's signers to have signed it")
		return ids
	}
	k.tlog(field, nil, nil)
	k.sc.note(field, "the attestation names no attestors, so Kyverno accepted it signed by any certificate of the trusted authorities; so does the import")
	return []string{k.req.addSigner(anyIdentity(k.rule + "-any-identity"))}
}

// attestorGroups translates an attestor set of an attestation: one group
// of signers per attestation requirement. Kyverno needs count attestors
// (default all) each to have signed an attestation that passes; Signet's
// requirement is one attestation from any signer it names, so "all" is
// one requirement per attestor, "one" a single requirement, and anything
// between is written as "all" (stricter).
func (k *kyTranslator) attestorGroups(field string, set kyAttestorSet) [][]string {
	ids, total := k.entries(field, set)
	n := total
	if set.Count != nil && *set.Count > 0 {
		n = *set.Count
	}
	switch {
	case n == 0:
		return nil // an empty set: Kyverno checks nothing
	case n > len(ids):
		k.sc.untranslated(field, "", "", "the attestation needs %s, and %s translated; the rule refuses every image it applies to until you finish it", count(n, "attestor", "attestors"), count(len(ids), "was", "were"))
		k.req.refuse(fmt.Sprintf("%s needs %s, and %s translated", field, count(n, "attestor", "attestors"), count(len(ids), "was", "were")))
		return nil
	case n == 1:
		return [][]string{ids}
	case n < len(ids):
		k.sc.stricter(field+".count", "Signet cannot ask for %d of %d attestation signers; the import asks for all %d", n, len(ids), len(ids))
	}
	var out [][]string
	for _, id := range ids {
		out = append(out, []string{id})
	}
	return out
}

// conditions turns an attestation's conditions into a placeholder: a
// false condition with the original in a comment, and a CEL suggestion
// where one exists.
func (k *kyTranslator) conditions(field string, at kyAttestation) (cond, comment string) {
	if at.Conditions.Kind == 0 {
		return "", ""
	}
	text := yamlText(&at.Conditions)
	suggestion, why := suggestCEL(&at.Conditions, at.Name)
	msg := "conditions (JMESPath) not translated; left out, the rule would be MORE permissive than the original, so the attestation is imported with condition \"false\", which refuses every image the rule applies to — write the check as a CEL condition in its place"
	if suggestion != "" {
		msg += ". The suggestion below says the same of each attestation; but Kyverno requires every such attestation from the attestor to pass, where Signet requires one: check that is what you want before you use it"
	} else {
		msg += " (no CEL suggestion: " + why + ")"
	}
	k.sc.untranslated(field+".conditions", text, suggestion, "%s", msg)
	comment = "UNTRANSLATED Kyverno conditions (JMESPath); \"false\" refuses every image until you write them in CEL:\n" + text
	if suggestion != "" {
		comment += "\nsuggested CEL (each attestation; Kyverno required every one to pass): " + suggestion
	}
	return "false", comment
}
