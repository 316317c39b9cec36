// Package schedule computes when time-based triggers fire: cron
// expressions in a time zone (parsed by github.com/robfig/cron/v3) and fixed
// intervals from an anchor. It is pure: every answer depends only on its
// arguments, so schedules over days and across daylight-saving changes are
// tested in microseconds.
//
// Daylight saving follows Vixie cron (man 8 cron), which is what cron users
// expect: a job that runs at a particular time (neither the minute nor the
// hour field starts with '*', and not @hourly) whose wall-clock time is
// skipped when clocks move forward runs at the first instant after the
// change, and one whose time repeats when clocks move back runs once, at the
// first occurrence. Jobs with a wildcard minute or hour follow the clock as
// it reads: nothing is caught up after a forward change, and a repeated hour
// runs again.
package schedule

import (
	"errors"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // time zones do not depend on the host's zoneinfo

	"github.com/robfig/cron/v3"
)

// Schedule gives the instants a trigger fires at.
type Schedule interface {
	// Next returns the first firing instant strictly after after, or the
	// zero time when there is none.
	Next(after time.Time) time.Time
}

// Error is an invalid schedule; Field names the schedule_config key at
// fault ("cron_expression", "timezone").
type Error struct {
	Field string
	Msg   string
}

func (e *Error) Error() string { return e.Field + ": " + e.Msg }

// parser reads standard five-field expressions (minute hour day-of-month
// month day-of-week) and the @yearly … @hourly descriptors.
var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Cron is a cron expression evaluated in a time zone.
type Cron struct {
	spec  *cron.SpecSchedule // evaluated on instants, in the zone
	wall  *cron.SpecSchedule // the same fields evaluated on wall-clock times (UTC stands for "no transitions")
	loc   *time.Location
	fixed bool // a job at particular times (the DST rules apply)
}

// LoadZone resolves an IANA time zone name ("UTC", "Europe/Paris").
// "Local" and "" are refused: a schedule must not depend on the host.
func LoadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, &Error{Field: "timezone", Msg: fmt.Sprintf("%q is not an IANA time zone name such as UTC or Europe/Paris", name)}
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, &Error{Field: "timezone", Msg: fmt.Sprintf("unknown time zone %q (use an IANA name such as UTC or Europe/Paris)", name)}
	}
	return loc, nil
}

// ParseCron parses a five-field cron expression or a descriptor (@daily …)
// to be evaluated in the time zone tz. @every and CRON_TZ=/TZ= prefixes
// are refused: intervals are interval triggers, and the zone is tz.
func ParseCron(expr, tz string) (*Cron, error) {
	expr = strings.TrimSpace(expr)
	loc, zerr := LoadZone(tz)
	var err error
	switch {
	case strings.HasPrefix(expr, "CRON_TZ=") || strings.HasPrefix(expr, "TZ="):
		err = &Error{Field: "cron_expression", Msg: "give the time zone in timezone, not in the expression"}
	case strings.HasPrefix(expr, "@every"):
		err = &Error{Field: "cron_expression", Msg: "@every is not a cron schedule; use trigger_type interval with interval_seconds"}
	}
	var spec *cron.SpecSchedule
	if err == nil {
		s, perr := parser.Parse(expr)
		if perr != nil {
			err = &Error{Field: "cron_expression", Msg: fmt.Sprintf("not a cron expression (minute hour day-of-month month day-of-week, or @daily …): %v", perr)}
		} else if spec, _ = s.(*cron.SpecSchedule); spec == nil {
			err = &Error{Field: "cron_expression", Msg: "not a cron expression (minute hour day-of-month month day-of-week)"}
		}
	}
	if err != nil || zerr != nil {
		return nil, errors.Join(err, zerr)
	}
	c := &Cron{loc: loc, fixed: fixedTime(expr)}
	s, w := *spec, *spec
	s.Location, w.Location = loc, time.UTC
	c.spec, c.wall = &s, &w
	if c.wall.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return nil, &Error{Field: "cron_expression", Msg: "matches no date (such as the 31st of a month that has 30 days)"}
	}
	return c, nil
}

// fixedTime reports whether a job runs at particular times in Vixie
// cron's sense: neither the minute nor the hour field starts with '*', and
// it is not @hourly.
func fixedTime(expr string) bool {
	if strings.HasPrefix(expr, "@") {
		return expr != "@hourly"
	}
	f := strings.Fields(expr)
	return len(f) >= 2 && !strings.HasPrefix(f[0], "*") && !strings.HasPrefix(f[1], "*")
}

// Location is the zone the expression is evaluated in.
func (c *Cron) Location() *time.Location { return c.loc }

// Next implements Schedule.
func (c *Cron) Next(after time.Time) time.Time {
	if !c.fixed {
		return c.spec.Next(after)
	}
	// Walk wall-clock times, where every local time exists exactly once,
	// and map each to the instant it first happens.
	w := wallOf(after.In(c.loc))
	for range 1 << 12 {
		if w = c.wall.Next(w); w.IsZero() {
			return time.Time{}
		}
		if t := firstInstant(w, c.loc); t.After(after) {
			return t
		}
	}
	return time.Time{}
}

// wallOf returns t's wall-clock reading as a UTC time.
func wallOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// firstInstant is the first instant at which the clock of loc reads w (a
// wall-clock time as UTC). A reading skipped by a forward change maps to
// the change itself (the first instant after the gap).
func firstInstant(w time.Time, loc *time.Location) time.Time {
	t := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), loc)
	if !wallOf(t).Equal(w) {
		// In a gap: Go picked an instant on one side of the change.
		start, end := t.ZoneBounds()
		if wallOf(t).After(w) {
			return start
		}
		return end
	}
	// A repeated reading: the earliest instant showing it (changes are at
	// most a few hours; 15-minute steps cover every zone's offsets).
	first := t
	for k := 1; k <= 16; k++ {
		if p := t.Add(-time.Duration(k) * 15 * time.Minute); wallOf(p).Equal(w) {
			first = p
		}
	}
	return first
}

// Interval fires at Anchor + k·Every for k ≥ 0.
type Interval struct {
	Anchor time.Time
	Every  time.Duration
}

// Next implements Schedule.
func (iv Interval) Next(after time.Time) time.Time {
	if iv.Every <= 0 {
		return time.Time{}
	}
	if after.Before(iv.Anchor) {
		return iv.Anchor
	}
	k := after.Sub(iv.Anchor)/iv.Every + 1
	return iv.Anchor.Add(k * iv.Every)
}

// MaxCounted bounds Covered's count, so a tiny interval after a long
// outage is counted in bounded time.
const MaxCounted = 100_000

// Covered returns the firing instants of s in [slot, now] (slot is a
// firing instant): how many there are (at least 1, at most MaxCounted, with
// capped set when there are more), the last of them, and the first instant
// after now. A firing at now covers them all: the slots missed while the
// process was down coalesce into one run.
func Covered(s Schedule, slot, now time.Time) (n int, last, next time.Time, capped bool) {
	if iv, ok := s.(Interval); ok && iv.Every > 0 && !now.Before(slot) {
		k := now.Sub(slot) / iv.Every
		last = slot.Add(k * iv.Every)
		if k+1 > MaxCounted {
			return MaxCounted, last, last.Add(iv.Every), true
		}
		return int(k) + 1, last, last.Add(iv.Every), false
	}
	n, last = 1, slot
	for {
		t := s.Next(last)
		if t.IsZero() || t.After(now) {
			return n, last, t, false
		}
		if n == MaxCounted {
			return n, last, s.Next(now), true
		}
		n, last = n+1, t
	}
}
