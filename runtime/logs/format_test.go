package logs

import (
	"errors"
	"testing"
	"time"
)

func TestEntryRoundTrip(t *testing.T) {
	ts := time.Date(2025, 3, 4, 5, 6, 7, 890123456, time.UTC)
	tests := []struct {
		name string
		e    Entry
		want string
	}{
		{"full stdout", Entry{Time: ts, Stream: Stdout, Content: []byte("hello world")}, "2025-03-04T05:06:07.890123456Z stdout F hello world\n"},
		{"partial stderr", Entry{Time: ts, Stream: Stderr, Partial: true, Content: []byte("abc")}, "2025-03-04T05:06:07.890123456Z stderr P abc\n"},
		{"empty line", Entry{Time: ts, Stream: Stdout}, "2025-03-04T05:06:07.890123456Z stdout F \n"},
		{"content with spaces", Entry{Time: ts, Stream: Stdout, Content: []byte(" a  b ")}, "2025-03-04T05:06:07.890123456Z stdout F  a  b \n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendEntry(nil, tt.e))
			if got != tt.want {
				t.Fatalf("AppendEntry = %q, want %q", got, tt.want)
			}
			back, err := ParseEntry([]byte(got))
			if err != nil {
				t.Fatalf("ParseEntry: %v", err)
			}
			if !back.Time.Equal(tt.e.Time) || back.Stream != tt.e.Stream || back.Partial != tt.e.Partial || string(back.Content) != string(tt.e.Content) {
				t.Fatalf("ParseEntry = %+v, want %+v", back, tt.e)
			}
		})
	}
}

func TestParseEntryRejects(t *testing.T) {
	for _, line := range []string{
		"",
		"garbage",
		"2025-03-04T05:06:07Z",
		"notatime stdout F x",
		"2025-03-04T05:06:07Z stdin F x",
		"2025-03-04T05:06:07Z stdout X x",
		"2025-03-04T05:06:07Z stdout FF x",
		"2025-03-04T05:06:07Z stdout",
	} {
		if _, err := ParseEntry([]byte(line)); !errors.Is(err, ErrMalformedEntry) {
			t.Errorf("ParseEntry(%q) error = %v, want ErrMalformedEntry", line, err)
		}
	}
}
