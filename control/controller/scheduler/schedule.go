package scheduler

import "time"

// Schedule picks the node for a pod: the feasible node with the highest
// Score, ties to the name that sorts first. When no node is feasible it
// returns a *FitError. Nodes whose Node object is unknown are skipped. It
// is a pure function of its arguments.
func Schedule(pi *PodInfo, nodes []*NodeInfo, now time.Time) (string, error) {
	feasible := make([]*NodeInfo, 0, len(nodes))
	fitErr := &FitError{Pod: pi.Pod, Reasons: map[string]int{}}
	maxOwned := 0
	for _, ni := range nodes {
		if ni.Node == nil {
			continue
		}
		fitErr.NumNodes++
		if reasons := Filter(pi, ni); len(reasons) > 0 {
			for _, r := range reasons {
				fitErr.Reasons[r]++
			}
			continue
		}
		feasible = append(feasible, ni)
		if pi.Owner != "" {
			maxOwned = max(maxOwned, ni.Owners[pi.Owner])
		}
	}
	if len(feasible) == 0 {
		return "", fitErr
	}
	best, bestScore := "", int64(-1)
	for _, ni := range feasible {
		s := Score(pi, ni, maxOwned, now)
		if s > bestScore || (s == bestScore && ni.Node.Name < best) {
			best, bestScore = ni.Node.Name, s
		}
	}
	return best, nil
}
