// Reads an iCalendar feed on stdin, parses it with ical.js and prints
// one JSON line per VEVENT (uid, sequence, status, summary, the start as
// UTC ISO and its zone), so the Go test checks what an independent
// parser understood. Exits non-zero on a parse error.
import ICAL from "ical.js";

let text = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) text += chunk;
const comp = new ICAL.Component(ICAL.parse(text));
for (const tz of comp.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(new ICAL.Timezone(tz));
}
const out = [];
for (const v of comp.getAllSubcomponents("vevent")) {
  const ev = new ICAL.Event(v);
  out.push({
    uid: ev.uid,
    sequence: ev.sequence,
    status: v.getFirstPropertyValue("status"),
    summary: ev.summary,
    start_utc: ev.startDate.toJSDate().toISOString(),
    end_utc: ev.endDate.toJSDate().toISOString(),
    tzid: ev.startDate.zone ? ev.startDate.zone.tzid : "",
    attendees: v.getAllProperties("attendee").map((p) => p.getFirstValue()),
  });
}
process.stdout.write(JSON.stringify({ name: comp.getFirstPropertyValue("x-wr-calname"), events: out }));
