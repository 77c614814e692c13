using System.Text.RegularExpressions;

namespace Room.MeetingServer.Web;

/// <summary>
/// A meeting's link <c>https://SERVER/meetings/ID</c> (the address rooms join by, and what people are sent) opened in a
/// browser: the server sends it to the web client with the meeting in the fragment (<c>/client/#meeting=ID</c>), which
/// shows that meeting's join page, after sign-in if needed. Whether the meeting exists and who may join is said only
/// to a signed-in member (by the API), never by this redirect: any well-formed id is sent on.
/// </summary>
public static partial class MeetingLinks
{
    public const string Path = "/meetings";

    [GeneratedRegex("^[a-z0-9]{1,64}$")]
    private static partial Regex MeetingId();

    public static void MapMeetingLinks(this WebApplication app) =>
        app.MapGet(Path + "/{id}", (HttpContext ctx, string id) => MeetingId().IsMatch(id)
            ? Results.Redirect($"{ctx.Request.PathBase}{WebClientHosting.Path}/#meeting={id}") // a tenant's link stays in its client
            : Results.Json(new { error = "malformed", message = "a meeting link is https://SERVER/meetings/ID (ID: 1-64 of a-z and 0-9)" }, statusCode: StatusCodes.Status404NotFound));
}
