package admin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Time is a timestamp from the Admin API. It accepts every layout dbt Cloud
// uses: "2021-12-07 10:32:24.326116+00:00" (space separator),
// "2021-11-18T15:19:03.185668+00:00", "2024-03-25T13:47:20.129690Z", with or
// without fractional seconds, and without a zone (taken as UTC). JSON null
// and "" decode to the zero Time. Values are normalised to UTC.
type Time struct {
	time.Time
}

var timeLayouts = []string{
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999Z07",
	"2006-01-02 15:04:05.999999999Z07",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

// ParseTime parses s in any layout Time accepts.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unrecognised timestamp %q", s)
}

// UnmarshalJSON decodes a JSON string or null.
func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("timestamp must be a string, got %s", truncate(string(b), 40))
	}
	if s == "" {
		t.Time = time.Time{}
		return nil
	}
	v, err := ParseTime(s)
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}

// MarshalJSON encodes RFC 3339 with nanoseconds, or null for the zero Time.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return []byte(strconv.Quote(t.UTC().Format(time.RFC3339Nano))), nil
}

// ParseDuration parses the Admin API's duration strings: "00:01:50",
// "1 day, 02:03:04", "3 days, 0:00:00.5". An empty string is 0.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	var days int64
	if i := strings.Index(s, ","); i >= 0 {
		dayPart := strings.Fields(s[:i])
		if len(dayPart) != 2 || !strings.HasPrefix(dayPart[1], "day") {
			return 0, fmt.Errorf("unrecognised duration %q", s)
		}
		d, err := strconv.ParseInt(dayPart[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("unrecognised duration %q", s)
		}
		days = d
		s = strings.TrimSpace(s[i+1:])
	}
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return 0, fmt.Errorf("unrecognised duration %q", s)
	}
	h, err1 := strconv.ParseInt(parts[0], 10, 64)
	m, err2 := strconv.ParseInt(parts[1], 10, 64)
	sec, err3 := strconv.ParseFloat(parts[2], 64)
	if err1 != nil || err2 != nil || err3 != nil || m < 0 || m > 59 || sec < 0 || sec >= 60 {
		return 0, fmt.Errorf("unrecognised duration %q", s)
	}
	d := time.Duration(days)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute +
		time.Duration(sec*float64(time.Second))
	return d, nil
}
