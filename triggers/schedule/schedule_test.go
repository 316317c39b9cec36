package schedule

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// The expectations below are Vixie cron's documented behaviour (man 8
// cron, "Special considerations exist when the clock is changed by less than
// 3 hours, for example at the beginning and end of daylight savings time"):
//
//	If the time has moved forwards, those jobs which would have run in the
//	time that was skipped will be run soon after the change. Conversely, if
//	the time has moved backwards by less than 3 hours, those jobs that fall
//	into the repeated time will not be re-run. Only jobs that run at a
//	particular time (not specified as @hourly, nor with '*' in the hour or
//	minute specifier) are affected by this. Jobs which are specified with
//	wildcards are run based on the new time immediately.
//
// In 2026, America/New_York moves forward on 8 March at 02:00 EST (to 03:00
// EDT) and back on 1 November at 02:00 EDT (to 01:00 EST); Europe/Paris
// forward on 29 March at 02:00 CET and back on 25 October at 03:00 CEST;
// Australia/Lord_Howe moves by 30 minutes.

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// fires lists n firing instants after from, formatted in the zone.
func fires(t *testing.T, s Schedule, loc *time.Location, from time.Time, n int) []string {
	t.Helper()
	var out []string
	c := from
	for range n {
		c = s.Next(c)
		if c.IsZero() {
			t.Fatalf("schedule ended after %v", out)
		}
		out = append(out, c.In(loc).Format("01-02 15:04 MST"))
	}
	return out
}

func TestCronDaylightSaving(t *testing.T) {
	ny := mustZone(t, "America/New_York")
	paris := mustZone(t, "Europe/Paris")
	lh := mustZone(t, "Australia/Lord_Howe")
	for _, tc := range []struct {
		name, expr, tz string
		from           time.Time
		want           []string
	}{
		{"forward: a skipped fixed time runs right after the change", "30 2 * * *", "America/New_York",
			time.Date(2026, 3, 7, 12, 0, 0, 0, ny), []string{"03-08 03:00 EDT", "03-09 02:30 EDT", "03-10 02:30 EDT"}},
		{"forward: two skipped times coalesce into one run", "0,30 2 * * *", "America/New_York",
			time.Date(2026, 3, 7, 12, 0, 0, 0, ny), []string{"03-08 03:00 EDT", "03-09 02:00 EDT", "03-09 02:30 EDT"}},
		{"forward: a fixed time outside the gap is unaffected", "30 3 * * *", "America/New_York",
			time.Date(2026, 3, 7, 12, 0, 0, 0, ny), []string{"03-08 03:30 EDT", "03-09 03:30 EDT"}},
		{"back: a repeated fixed time runs once", "30 1 * * *", "America/New_York",
			time.Date(2026, 10, 31, 12, 0, 0, 0, ny), []string{"11-01 01:30 EDT", "11-02 01:30 EST", "11-03 01:30 EST"}},
		{"back: from inside the repeated hour, the second pass is skipped", "30 1 * * *", "America/New_York",
			time.Date(2026, 11, 1, 1, 10, 0, 0, ny).Add(time.Hour), []string{"11-02 01:30 EST"}},
		{"wildcard minute: the repeated hour runs again", "*/30 1 * * *", "America/New_York",
			time.Date(2026, 11, 1, 0, 50, 0, 0, ny), []string{"11-01 01:00 EDT", "11-01 01:30 EDT", "11-01 01:00 EST", "11-01 01:30 EST", "11-02 01:00 EST"}},
		{"wildcard hour: the skipped hour is not caught up", "15 * * * *", "America/New_York",
			time.Date(2026, 3, 8, 0, 30, 0, 0, ny), []string{"03-08 01:15 EST", "03-08 03:15 EDT", "03-08 04:15 EDT"}},
		{"@hourly follows the clock", "@hourly", "America/New_York",
			time.Date(2026, 11, 1, 0, 30, 0, 0, ny), []string{"11-01 01:00 EDT", "11-01 01:00 EST", "11-01 02:00 EST"}},
		{"@daily is a fixed time", "@daily", "Europe/Paris",
			time.Date(2026, 3, 28, 12, 0, 0, 0, paris), []string{"03-29 00:00 CET", "03-30 00:00 CEST"}},
		{"Paris forward", "30 2 * * *", "Europe/Paris",
			time.Date(2026, 3, 28, 12, 0, 0, 0, paris), []string{"03-29 03:00 CEST", "03-30 02:30 CEST"}},
		{"Paris back", "30 2 * * *", "Europe/Paris",
			time.Date(2026, 10, 24, 12, 0, 0, 0, paris), []string{"10-25 02:30 CEST", "10-26 02:30 CET"}},
		{"half-hour change, forward (Lord Howe 02:00 → 02:30)", "15 2 * * *", "Australia/Lord_Howe",
			time.Date(2026, 10, 3, 12, 0, 0, 0, lh), []string{"10-04 02:30 +11", "10-05 02:15 +11"}},
		{"half-hour change, back (Lord Howe 02:00 → 01:30)", "45 1 * * *", "Australia/Lord_Howe",
			time.Date(2026, 4, 4, 12, 0, 0, 0, lh), []string{"04-05 01:45 +11", "04-06 01:45 +1030"}},
		{"UTC has no transitions", "0 2 * * 1-5", "UTC",
			time.Date(2026, 3, 6, 12, 0, 0, 0, time.UTC), []string{"03-09 02:00 UTC", "03-10 02:00 UTC"}},
		{"day-of-month and day-of-week either match (cron's rule)", "0 0 13 * 5", "UTC",
			time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), []string{"02-06 00:00 UTC", "02-13 00:00 UTC", "02-20 00:00 UTC"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCron(tc.expr, tc.tz)
			if err != nil {
				t.Fatal(err)
			}
			got := fires(t, c, c.Location(), tc.from, len(tc.want))
			if strings.Join(got, ", ") != strings.Join(tc.want, ", ") {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
}

// TestCronAgreesWithRobfigAwayFromTransitions: where no clock change is
// near, the schedule is the parser's own (robfig/cron) for every kind of
// expression, fixed or wildcard.
func TestCronAgreesWithRobfigAwayFromTransitions(t *testing.T) {
	for _, expr := range []string{"0 2 * * *", "*/7 * * * *", "5 4 * * sun", "0 0 1,15 * *", "@weekly", "@monthly", "10-20/5 9-17 * * 1-5"} {
		c, err := ParseCron(expr, "Asia/Kolkata") // no daylight saving
		if err != nil {
			t.Fatal(err)
		}
		from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		a, b := from, from
		for range 200 {
			a, b = c.Next(a), c.spec.Next(b)
			if !a.Equal(b) {
				t.Fatalf("%s: %v, robfig %v", expr, a, b)
			}
		}
	}
}

func TestCronRefusals(t *testing.T) {
	for _, tc := range []struct{ expr, tz, field, msg string }{
		{"0 2 * *", "UTC", "cron_expression", "not a cron expression"},
		{"61 * * * *", "UTC", "cron_expression", "not a cron expression"},
		{"@every 1h", "UTC", "cron_expression", "use trigger_type interval"},
		{"CRON_TZ=UTC 0 2 * * *", "UTC", "cron_expression", "give the time zone in timezone"},
		{"0 0 31 2 *", "UTC", "cron_expression", "matches no date"},
		{"0 2 * * *", "Mars/Olympus", "timezone", "unknown time zone"},
		{"0 2 * * *", "Local", "timezone", "not an IANA time zone name"},
		{"0 2 * * *", "", "timezone", "not an IANA time zone name"},
	} {
		_, err := ParseCron(tc.expr, tc.tz)
		var se *Error
		if !errors.As(err, &se) || se.Field != tc.field || !strings.Contains(se.Msg, tc.msg) {
			t.Errorf("%q in %q: %v, want %s: …%s…", tc.expr, tc.tz, err, tc.field, tc.msg)
		}
	}
	// Both fields wrong: both reported.
	_, err := ParseCron("nope", "Nowhere/Else")
	var fields []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		fields = append(fields, e.(*Error).Field)
	}
	if strings.Join(fields, ",") != "cron_expression,timezone" {
		t.Errorf("both wrong: %v", err)
	}
}

func TestInterval(t *testing.T) {
	a := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	iv := Interval{Anchor: a, Every: 6 * time.Hour}
	for _, tc := range []struct {
		after, want time.Time
	}{
		{a.Add(-time.Second), a},
		{a, a.Add(6 * time.Hour)},
		{a.Add(6*time.Hour - time.Nanosecond), a.Add(6 * time.Hour)},
		{a.Add(6 * time.Hour), a.Add(12 * time.Hour)},
		{a.Add(1000*time.Hour + time.Minute), a.Add(1002 * time.Hour)},
	} {
		if got := iv.Next(tc.after); !got.Equal(tc.want) {
			t.Errorf("Next(%v) = %v, want %v", tc.after, got, tc.want)
		}
	}
}

func TestCovered(t *testing.T) {
	a := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	iv := Interval{Anchor: a, Every: time.Hour}
	daily, _ := ParseCron("0 2 * * *", "UTC")
	slot2 := time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		s          Schedule
		slot, now  time.Time
		n          int
		last, next time.Time
		capped     bool
	}{
		{"on time", iv, a.Add(time.Hour), a.Add(time.Hour + time.Second), 1, a.Add(time.Hour), a.Add(2 * time.Hour), false},
		{"down for 5½ hours", iv, a.Add(time.Hour), a.Add(6*time.Hour + 30*time.Minute), 6, a.Add(6 * time.Hour), a.Add(7 * time.Hour), false},
		{"exactly on a later slot", iv, a, a.Add(3 * time.Hour), 4, a.Add(3 * time.Hour), a.Add(4 * time.Hour), false},
		{"cron, down for three days", daily, slot2, slot2.Add(72*time.Hour + time.Minute), 4, slot2.Add(72 * time.Hour), slot2.Add(96 * time.Hour), false},
		{"capped", Interval{Anchor: a, Every: time.Second}, a, a.Add(48 * time.Hour), MaxCounted, a.Add(48 * time.Hour), a.Add(48*time.Hour + time.Second), true},
	} {
		n, last, next, capped := Covered(tc.s, tc.slot, tc.now)
		if n != tc.n || !last.Equal(tc.last) || !next.Equal(tc.next) || capped != tc.capped {
			t.Errorf("%s: %d %v %v %v, want %d %v %v %v", tc.name, n, last, next, capped, tc.n, tc.last, tc.next, tc.capped)
		}
	}
	// The cron path caps too.
	every, _ := ParseCron("* * * * *", "UTC")
	n, _, next, capped := Covered(every, a, a.Add(200*24*time.Hour))
	if n != MaxCounted || !capped || !next.Equal(a.Add(200*24*time.Hour+time.Minute)) {
		t.Errorf("cron cap: %d %v %v", n, next, capped)
	}
}
