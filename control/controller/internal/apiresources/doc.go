// Package apiresources lists the resources an API server serves (through
// discovery), for the controllers that work on every resource rather than on
// known types: the garbage collector and the namespace controller.
package apiresources
