package probe

import "fmt"

// Kind is a probe's purpose.
type Kind string

// The probe kinds.
const (
	Liveness  Kind = "Liveness"
	Readiness Kind = "Readiness"
	Startup   Kind = "Startup"
)

// Result is a probe's verdict.
type Result int8

// The results. Unknown means no verdict yet (or the check could not be
// made).
const (
	Unknown Result = iota
	Success
	Failure
)

func (r Result) String() string {
	switch r {
	case Success:
		return "Success"
	case Failure:
		return "Failure"
	}
	return "Unknown"
}

// initialResult is a worker's published result before any probe
// crossed a threshold.
func initialResult(k Kind) Result {
	switch k {
	case Readiness:
		return Failure
	case Liveness:
		return Success
	}
	return Unknown
}

// Outcome is one check's result and what explains it (the HTTP status, the
// dial error, the command's output).
type Outcome struct {
	Result Result
	// Output explains a Failure (or a Warning).
	Output string
	// Warning is set when the check passed but with a note for the user
	// (an HTTP redirect to another host, not followed).
	Warning string
}

func (o Outcome) String() string {
	if o.Output == "" {
		return o.Result.String()
	}
	return fmt.Sprintf("%s: %s", o.Result, o.Output)
}
