// Reads an iCalendar file on stdin and prints, as JSON, what ical.js (the parser Thunderbird uses)
// sees in it: the calendar's properties and every event, with start and end as UTC ISO strings.
// tests/lending/test_calendar.py compares this with what the Python icalendar package reads,
// tests/lending/test_calendar_timezones.py every instant with zoneinfo (through calendar_readers.py).
//
// Times with a TZID must resolve through a VTIMEZONE in the file itself: ical.js would otherwise
// treat them as floating (the machine's local time), and a missing or wrong VTIMEZONE would pass
// unnoticed. Such a time is an error here (exit status 2).
//
//   node tests/lending/icaljs_dump.mjs < feed.ics
//   cat one.ics two.ics | node tests/lending/icaljs_dump.mjs --many   (a JSON list, one per calendar)

import { readFileSync } from "node:fs";
import ICAL from "ical.js";

function utc(time, property) {
  const tzid = property.getParameter("tzid");
  if (tzid) {
    if (!time.zone || time.zone.tzid !== tzid || !time.zone.component) {
      throw new Error(`${property.name} ${time.toString()}: TZID ${tzid} has no VTIMEZONE in the file`);
    }
  } else if (!time.isDate && time.zone !== ICAL.Timezone.utcTimezone) {
    throw new Error(`${property.name} ${time.toString()}: a floating time`);
  }
  return time.toJSDate().toISOString().replace(".000Z", "Z");
}

function text(component, name) {
  const value = component.getFirstPropertyValue(name);
  return value === null ? null : String(value);
}

function dump(jcal) {
  const calendar = new ICAL.Component(jcal);
  if (calendar.name !== "vcalendar") {
    throw new Error(`not a VCALENDAR but ${calendar.name}`);
  }
  const events = calendar.getAllSubcomponents("vevent").map((vevent) => {
    const event = new ICAL.Event(vevent);
    return {
      uid: event.uid,
      summary: event.summary,
      start: utc(event.startDate, vevent.getFirstProperty("dtstart")),
      end: utc(event.endDate, vevent.getFirstProperty("dtend")),
      start_tzid: vevent.getFirstProperty("dtstart").getParameter("tzid") || null,
      stamp: utc(vevent.getFirstPropertyValue("dtstamp"), vevent.getFirstProperty("dtstamp")),
      status: text(vevent, "status"),
      sequence: event.sequence,
      location: event.location,
      description: event.description,
      url: text(vevent, "url"),
      alarms: vevent.getAllSubcomponents("valarm").map((alarm) => ({
        action: text(alarm, "action"),
        trigger: text(alarm, "trigger"),
        description: text(alarm, "description"),
      })),
    };
  });
  return {
    prodid: text(calendar, "prodid"),
    version: text(calendar, "version"),
    calscale: text(calendar, "calscale"),
    method: text(calendar, "method"),
    name: text(calendar, "x-wr-calname"),
    timezones: calendar.getAllSubcomponents("vtimezone").map((zone) => text(zone, "tzid")),
    events,
  };
}

try {
  const parsed = ICAL.parse(readFileSync(0, "utf8"));
  // One calendar parses to one jCal component, several to a list of them.
  const calendars = typeof parsed[0] === "string" ? [parsed] : parsed;
  const many = process.argv.includes("--many");
  if (!many && calendars.length !== 1) {
    throw new Error(`${calendars.length} calendars in one file`);
  }
  const result = many ? calendars.map(dump) : dump(calendars[0]);
  process.stdout.write(JSON.stringify(result, null, 2) + "\n");
} catch (error) {
  process.stderr.write(`icaljs_dump: ${error.message}\n`);
  process.exit(2);
}
