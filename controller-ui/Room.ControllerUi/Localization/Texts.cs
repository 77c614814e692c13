using System.Collections.Frozen;

namespace Room.ControllerUi.Localization;

/// <summary>The panel's words in German (default) and English. Every key exists in both (a test checks).</summary>
public sealed class Texts
{
    public const string German = "de";
    public const string English = "en";

    private static readonly (string Key, string De, string En)[] s_table =
    [
        ("app.title", "Raumsteuerung", "Room control"),
        ("nav.home", "Start", "Home"),
        ("nav.settings", "Einstellungen", "Settings"),
        ("nav.language", "Sprache", "Language"),
        ("nav.contrast", "Hoher Kontrast", "High contrast"),
        ("nav.main", "Hauptnavigation", "Main navigation"),
        ("clock", "Uhrzeit", "Time"),
        ("link.connecting", "Verbindung zum Raumsystem wird hergestellt …", "Connecting to the room system …"),
        ("link.absent", "Das Raumsystem ist nicht erreichbar. Die Steuerung verbindet sich automatisch wieder, sobald es zurück ist.", "The room system is not available. The panel reconnects by itself as soon as it is back."),
        ("link.busdown", "Keine Verbindung zum Systembus. Neuer Versuch läuft …", "No connection to the system bus. Retrying …"),
        ("link.offline", "Raumsystem offline", "Room system offline"),
        ("link.online", "Verbunden", "Connected"),
        ("home.now", "Jetzt", "Now"),
        ("home.next", "Als Nächstes", "Up next"),
        ("home.upcoming", "Heutige und kommende Besprechungen", "Today's and upcoming meetings"),
        ("home.nomeetings", "Keine weiteren Besprechungen im Kalender.", "No more meetings in the calendar."),
        ("home.join", "Beitreten", "Join"),
        ("home.joinnow", "Jetzt beitreten", "Join now"),
        ("home.joinaddress", "Mit Adresse beitreten", "Join by address"),
        ("home.joinaddress.hint", "Meeting-Adresse eingeben, z. B. meeting://server:8443/abc123", "Enter a meeting address, e.g. meeting://server:8443/abc123"),
        ("home.free", "Der Raum ist frei", "The room is free"),
        ("home.lasterror", "Die letzte Besprechung ist fehlgeschlagen", "The last meeting failed"),
        ("home.today", "Heute", "Today"),
        ("home.tomorrow", "Morgen", "Tomorrow"),
        ("home.until", "bis", "until"),
        ("cal.title", "Kalender", "Calendar"),
        ("cal.agenda", "Termine von heute und morgen", "Today's and tomorrow's meetings"),
        ("cal.none.today", "Heute keine weiteren Termine.", "No more meetings today."),
        ("cal.none.tomorrow", "Morgen keine Termine.", "No meetings tomorrow."),
        ("cal.allday", "ganztägig", "all day"),
        ("cal.private", "Privater Termin", "Private meeting"),
        ("cal.untitled", "Ohne Titel", "Untitled"),
        ("cal.nolink", "Ohne Besprechungslink", "No meeting link"),
        ("cal.external", "nicht über diesen Raum beitretbar", "cannot be joined from this room"),
        ("cal.provider.other", "Externer Besprechungslink", "External meeting link"),
        ("cal.synced", "Kalender abgeglichen: {0}", "Calendar synced: {0}"),
        ("cal.offline", "Kalenderserver nicht erreichbar – gespeicherter Stand vom {0}", "Calendar server unreachable – saved agenda from {0}"),
        ("cal.pending", "Kalender wird abgeglichen …", "Syncing the calendar …"),
        ("cal.pending.cached", "Gespeicherter Stand vom {0} – Abgleich läuft …", "Saved agenda from {0} – syncing …"),
        ("cal.error", "Kalender nicht verfügbar", "Calendar not available"),
        ("cal.unknown", "unbekannt", "unknown"),
        ("cal.prompt.title", "Die Besprechung ist zu Ende", "The meeting has ended"),
        ("cal.prompt.text", "„{0}“ ist vorbei, aber es sind noch andere im Gespräch. Soll der Raum die Besprechung verlassen?", "“{0}” has ended, but others are still in the call. Should the room leave the meeting?"),
        ("cal.prompt.stay", "Bleiben", "Stay"),
        ("cal.prompt.leave", "Verlassen", "Leave"),
        ("address.title", "Meeting-Adresse", "Meeting address"),
        ("address.input", "Adresse", "Address"),
        ("address.keyboard", "Bildschirmtastatur", "On-screen keyboard"),
        ("address.backspace", "Zeichen löschen", "Delete character"),
        ("address.clear", "Alles löschen", "Clear all"),
        ("address.shift", "Großbuchstaben", "Capitals"),
        ("address.join", "Beitreten", "Join"),
        ("address.cancel", "Abbrechen", "Cancel"),
        ("call.joining", "Verbindung wird aufgebaut …", "Joining …"),
        ("call.leaving", "Besprechung wird verlassen …", "Leaving …"),
        ("call.incall", "In der Besprechung", "In the meeting"),
        ("call.testcall", "Testanruf: dieser Raum spricht mit einer simulierten Gegenstelle, nicht mit einer Besprechung.", "Test call: this room talks to a simulated peer, not to a meeting."),
        ("call.reconnecting", "Verbindung unterbrochen – wird wiederhergestellt …", "Connection lost – reconnecting …"),
        ("call.duration", "Dauer", "Duration"),
        ("call.participants", "Teilnehmende", "Participants"),
        ("call.guest", "Gast, eingeladen von {0}", "Guest, invited by {0}"),
        ("call.lobby", "Wartebereich", "Lobby"),
        ("call.admit", "Einlassen", "Admit"),
        ("call.deny", "Ablehnen", "Deny"),
        ("call.admit.label", "{0} einlassen", "Admit {0}"),
        ("call.deny.label", "{0} ablehnen", "Deny {0}"),
        ("call.video", "Bild der Gegenstelle", "Remote video"),
        ("call.thisroom", "dieser Raum", "this room"),
        ("call.muted", "stumm", "muted"),
        ("call.security", "Sicherheitscode", "Security code"),
        ("call.security.hint", "Vergleichen Sie diesen Code mit allen Teilnehmenden. Stimmt er überall überein, ist die Besprechung Ende-zu-Ende verschlüsselt.", "Compare this code with everyone in the meeting. If it matches everywhere, the meeting is end-to-end encrypted."),
        ("call.security.pending", "wird ermittelt …", "being established …"),
        ("call.audio", "Audio", "Audio"),
        ("call.mute", "Mikrofon stumm", "Mute microphone"),
        ("call.unmute", "Mikrofon an", "Unmute microphone"),
        ("call.micmuted", "Mikrofon ist stumm", "Microphone is muted"),
        ("call.micon", "Mikrofon ist an", "Microphone is on"),
        ("call.volume", "Lautstärke", "Volume"),
        ("call.volumedown", "Leiser", "Volume down"),
        ("call.volumeup", "Lauter", "Volume up"),
        ("call.leave", "Verlassen", "Leave"),
        ("call.leave.confirm", "Besprechung wirklich verlassen?", "Leave the meeting?"),
        ("call.leave.yes", "Ja, verlassen", "Yes, leave"),
        ("call.leave.no", "Nein, bleiben", "No, stay"),
        ("cam.title", "Kamera", "Camera"),
        ("cam.select", "Kamera wählen", "Select camera"),
        ("cam.pad", "Kamera schwenken und neigen", "Pan and tilt the camera"),
        ("cam.up", "Nach oben", "Up"),
        ("cam.down", "Nach unten", "Down"),
        ("cam.left", "Nach links", "Left"),
        ("cam.right", "Nach rechts", "Right"),
        ("cam.home", "Mitte", "Centre"),
        ("cam.zoomin", "Heranzoomen", "Zoom in"),
        ("cam.zoomout", "Herauszoomen", "Zoom out"),
        ("cam.zoom", "Zoom", "Zoom"),
        ("cam.pan", "Schwenk", "Pan"),
        ("cam.tilt", "Neigung", "Tilt"),
        ("cam.position", "Aktuelle Kameraposition", "Current camera position"),
        ("cam.presets", "Positionen", "Presets"),
        ("cam.recall", "Position anfahren", "Go to preset"),
        ("cam.store", "Aktuelle Position speichern", "Save current position"),
        ("cam.storeas", "Als neue Position speichern", "Save as new preset"),
        ("cam.overwrite", "überschreiben", "overwrite"),
        ("cam.nopresets", "Noch keine Positionen gespeichert.", "No presets saved yet."),
        ("cam.preset", "Position", "Preset"),
        ("cam.autoframing", "Automatischer Bildausschnitt", "Auto-framing"),
        ("cam.none", "Keine steuerbare Kamera.", "No controllable camera."),
        ("pin.title", "Administrator-PIN", "Administrator PIN"),
        ("pin.hint", "Die Einstellungen sind geschützt. Bitte PIN eingeben.", "Settings are protected. Please enter the PIN."),
        ("pin.entered", "Eingegebene Ziffern", "Digits entered"),
        ("pin.wrong", "PIN falsch. Bitte erneut versuchen.", "Wrong PIN. Please try again."),
        ("pin.locked", "Zu viele Fehlversuche. Bitte später erneut versuchen.", "Too many wrong attempts. Please try again later."),
        ("pin.ok", "Bestätigen", "Confirm"),
        ("pin.delete", "Ziffer löschen", "Delete digit"),
        ("pin.digit", "Ziffer", "Digit"),
        ("settings.title", "Einstellungen", "Settings"),
        ("settings.lock", "Einstellungen sperren", "Lock settings"),
        ("settings.devices", "Geräte", "Devices"),
        ("settings.device", "Gerät", "Device"),
        ("settings.kind", "Art", "Kind"),
        ("settings.driver", "Treiber", "Driver"),
        ("settings.health", "Zustand", "Health"),
        ("settings.nodevices", "Keine Geräte gemeldet.", "No devices reported."),
        ("settings.network", "Netzwerk", "Network"),
        ("settings.hostname", "Gerätename", "Host name"),
        ("settings.addresses", "Adressen", "Addresses"),
        ("network.title", "Netzwerk und Proxy", "Network and proxy"),
        ("network.config", "Einstellung", "Configuration"),
        ("network.mode", "Adresse beziehen", "How the address is set"),
        ("network.dhcp", "Automatisch (DHCP)", "Automatic (DHCP)"),
        ("network.static", "Fest", "Static"),
        ("network.address", "IPv4-Adresse", "IPv4 address"),
        ("network.prefix", "Präfixlänge (z. B. 24)", "Prefix length (e.g. 24)"),
        ("network.gateway", "Gateway", "Gateway"),
        ("network.dns", "DNS-Server", "DNS servers"),
        ("network.proxy", "HTTP(S)-Proxy", "HTTP(S) proxy"),
        ("network.noproxy", "keiner", "none"),
        ("network.unmanaged", "Das Netzwerk wird nicht vom Raumsystem verwaltet.", "The network is not managed by the room system."),
        ("network.imagedefault", "Werkseinstellung", "Factory default"),
        ("network.hint", "DNS-Server durch Leerzeichen trennen. Proxy als http://HOST:PORT, ohne Zugangsdaten; leer für keinen.", "Separate DNS servers with spaces. Proxy as http://HOST:PORT, without credentials; empty for none."),
        ("network.space", "Leerzeichen", "Space"),
        ("network.edit", "Ändern", "Change"),
        ("network.save", "Übernehmen", "Apply"),
        ("network.refused", "Nicht übernommen, nichts geändert", "Not applied, nothing changed"),
        ("network.failed", "Der Netzwerkdienst hat nicht übernommen, die bisherige Einstellung gilt", "The network service did not apply it; the previous settings stay"),
        ("settings.software", "Software", "Software"),
        ("settings.version", "Version", "Version"),
        ("settings.update", "Aktualisierung", "Update status"),
        ("settings.room", "Raum", "Room"),
        ("admin.title", "Raumeinstellungen", "Room settings"),
        ("admin.volume", "Lautstärke beim Start", "Volume at start"),
        ("admin.volume.down", "Startlautstärke verringern", "Lower the volume at start"),
        ("admin.volume.up", "Startlautstärke erhöhen", "Raise the volume at start"),
        ("admin.standby", "Bildschirm-Standby ohne Besprechung", "Display standby without a meeting"),
        ("admin.standby.never", "nie", "never"),
        ("admin.minutes", "Min.", "min"),
        ("admin.language", "Sprache des Raums", "Room language"),
        ("admin.timezone", "Zeitzone", "Time zone"),
        ("admin.ntp", "Zeitserver", "Time servers"),
        ("admin.system", "wie im System", "as the system"),
        ("admin.notapplied", "gespeichert, noch nicht angewendet", "stored, not applied yet"),
        ("admin.maintenance", "Wartungsfenster", "Maintenance window"),
        ("admin.none", "keins", "none"),
        ("admin.enrolment", "Meeting-Server", "Meeting server"),
        ("admin.notenrolled", "nicht angemeldet", "not enrolled"),
        ("admin.expired", "Die Administrator-Sitzung ist abgelaufen. Bitte PIN erneut eingeben.", "The admin session has expired. Please enter the PIN again."),
        ("health.ok", "in Ordnung", "OK"),
        ("health.degraded", "eingeschränkt", "degraded"),
        ("health.missing", "fehlt", "missing"),
        ("health.failed", "ausgefallen", "failed"),
        ("kind.camera", "Kamera", "Camera"),
        ("kind.microphone", "Mikrofon", "Microphone"),
        ("kind.speaker", "Lautsprecher", "Speaker"),
        ("kind.display", "Bildschirm", "Display"),
        ("kind.gpio", "Schaltkontakt", "GPIO"),
        ("error.generic", "Das hat nicht geklappt", "That did not work"),
        ("error.unavailable", "Das Raumsystem ist gerade nicht erreichbar.", "The room system is not available right now."),
        ("error.invaliduri", "Diese Adresse ist ungültig.", "This address is not valid."),
        ("error.wrongstate", "Das geht im Moment nicht.", "That is not possible right now."),
        ("error.dismiss", "Meldung schließen", "Dismiss message"),
        ("day.0", "Sonntag", "Sunday"),
        ("day.1", "Montag", "Monday"),
        ("day.2", "Dienstag", "Tuesday"),
        ("day.3", "Mittwoch", "Wednesday"),
        ("day.4", "Donnerstag", "Thursday"),
        ("day.5", "Freitag", "Friday"),
        ("day.6", "Samstag", "Saturday"),
    ];

    private static readonly FrozenDictionary<string, string> s_de = s_table.ToFrozenDictionary(t => t.Key, t => t.De);
    private static readonly FrozenDictionary<string, string> s_en = s_table.ToFrozenDictionary(t => t.Key, t => t.En);

    public static Texts De { get; } = new(German, s_de);

    public static Texts En { get; } = new(English, s_en);

    private readonly FrozenDictionary<string, string> _words;

    private Texts(string language, FrozenDictionary<string, string> words)
    {
        Language = language;
        _words = words;
    }

    public string Language { get; }

    public static IReadOnlyList<string> Keys { get; } = s_table.Select(t => t.Key).ToArray();

    /// <summary>The word for <paramref name="key"/>; the key itself when unknown, so a gap shows rather than throws.</summary>
    public string this[string key] => _words.TryGetValue(key, out var w) ? w : key;

    public static Texts For(string? language) => language == English ? En : De;

    public string Weekday(DayOfWeek day) => this["day." + (int)day];

    /// <summary>Digits of a security code in groups of <paramref name="size"/>, for reading out loud.</summary>
    public static IReadOnlyList<string> Group(string code, int size = 5)
    {
        var digits = new string(code.Where(c => !char.IsWhiteSpace(c)).ToArray());
        var groups = new List<string>();
        for (var i = 0; i < digits.Length; i += size)
        {
            groups.Add(digits.Substring(i, Math.Min(size, digits.Length - i)));
        }

        return groups;
    }
}
