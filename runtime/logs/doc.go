// Package logs stores container output in the CRI log format and reads it
// back the way the kubelet's /containerLogs endpoint does.
//
// Every line a container writes becomes one entry:
//
//	<RFC3339Nano timestamp> <stdout|stderr> <F|P> <content>\n
//
// F marks a complete line; P marks a fragment of a line longer than
// MaxLineBytes (the following entries continue it, the last one is F).
//
// Layout: a container's log directory holds one file per instance (restart)
// of the container, "<attempt>.log" (InstancePath). When an instance's file
// reaches Rotation.MaxBytes it is renamed to "<attempt>.log.1" (older ones
// shift to .2, .3, ...) and a new file is started; Rotation.MaxFiles bounds
// the number of files kept per instance, the live one included.
//
// The Writer is used by the process that holds the container's stdout and
// stderr pipes (runtime/container's monitor), so rotation needs no
// coordination with anyone. Read serves tail, follow (across rotations),
// timestamps, since, limitBytes and previous (the instance before the
// newest one).
package logs
