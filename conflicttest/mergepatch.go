package conflicttest

import "maps"

// mergePatch applies an RFC 7396 JSON merge patch to target and returns the
// result. It never modifies target or patch: changed objects are copied,
// unchanged values are shared.
func mergePatch(target map[string]any, patch map[string]any) map[string]any {
	out := maps.Clone(target)
	if out == nil {
		out = map[string]any{}
	}
	for k, pv := range patch {
		if pv == nil {
			delete(out, k)
			continue
		}
		pm, ok := pv.(map[string]any)
		if !ok {
			out[k] = pv
			continue
		}
		tm, _ := out[k].(map[string]any)
		out[k] = mergePatch(tm, pm)
	}
	return out
}
