using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;

namespace Room.Bus;

/// <summary>
/// The introspection XML of the contract, and what it declares, for server and clients alike. The contract is our own,
/// plainly formatted file, read with a few patterns rather than System.Xml: loading the XML stack cost roomd about 3.5 MB
/// of resident memory and start-up time for one read of one file (a test checks the result against an XML parser).
/// </summary>
public static partial class BusContract
{
    private static readonly Lazy<string> s_xml = new(() =>
    {
        using var stream = typeof(BusContract).Assembly.GetManifestResourceStream("org.room.Appliance1.xml")
            ?? throw new InvalidOperationException("The contract resource is missing from Room.Bus.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    });

    private static readonly Lazy<IReadOnlyDictionary<string, InterfaceDescription>> s_interfaces = new(() => Parse(s_xml.Value));

    /// <summary>The whole node, as busctl and gdbus see it.</summary>
    public static string IntrospectionXml => s_xml.Value;

    public static IReadOnlyDictionary<string, InterfaceDescription> Interfaces => s_interfaces.Value;

    /// <summary>The &lt;interface&gt; elements alone, UTF-8, for Tmds' ReplyIntrospectXml.</summary>
    public static ReadOnlyMemory<byte>[] InterfaceXmlFragments { get; } =
        InterfaceElement().Matches(s_xml.Value).Select(m => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes("  " + m.Value + "\n")).ToArray();

    /// <summary>The interfaces, methods (in and out signatures) and properties declared in <paramref name="xml"/>.</summary>
    public static Dictionary<string, InterfaceDescription> Parse(string xml)
    {
        ArgumentNullException.ThrowIfNull(xml);
        var result = new Dictionary<string, InterfaceDescription>();
        foreach (Match i in InterfaceElement().Matches(Comment().Replace(xml, "")))
        {
            var name = i.Groups["name"].Value;
            var body = i.Groups["body"].Value;
            var methods = MethodElement().Matches(body).ToDictionary(
                m => m.Groups["name"].Value,
                m =>
                {
                    var args = ArgElement().Matches(m.Groups["body"].Value).Select(a => Attributes(a.Groups["attrs"].Value)).ToList();
                    return new MethodDescription(
                        m.Groups["name"].Value,
                        string.Concat(args.Where(a => a.GetValueOrDefault("direction", "in") != "out").Select(a => a["type"])),
                        string.Concat(args.Where(a => a.GetValueOrDefault("direction", "in") == "out").Select(a => a["type"])));
                });
            var properties = PropertyElement().Matches(body).Select(p => Attributes(p.Groups["attrs"].Value)).ToDictionary(a => a["name"], a => a["type"]);
            result[name] = new InterfaceDescription(name, methods, properties);
        }

        return result;
    }

    private static Dictionary<string, string> Attributes(string text) =>
        Attribute().Matches(text).ToDictionary(a => a.Groups[1].Value, a => a.Groups[2].Value);

    [GeneratedRegex(@"<interface\s+name=""(?<name>[^""]+)""\s*>(?<body>.*?)</interface>", RegexOptions.Singleline)]
    private static partial Regex InterfaceElement();

    [GeneratedRegex(@"<method\s+name=""(?<name>[^""]+)""\s*(?:/>|>(?<body>.*?)</method>)", RegexOptions.Singleline)]
    private static partial Regex MethodElement();

    [GeneratedRegex(@"<arg\b(?<attrs>[^>]*?)/>", RegexOptions.Singleline)]
    private static partial Regex ArgElement();

    [GeneratedRegex(@"<property\b(?<attrs>[^>]*?)/>", RegexOptions.Singleline)]
    private static partial Regex PropertyElement();

    [GeneratedRegex(@"(\w+)=""([^""]*)""")]
    private static partial Regex Attribute();

    [GeneratedRegex(@"<!--.*?-->", RegexOptions.Singleline)]
    private static partial Regex Comment();
}

public sealed record MethodDescription(string Name, string InSignature, string OutSignature);

public sealed record InterfaceDescription(
    string Name,
    IReadOnlyDictionary<string, MethodDescription> Methods,
    IReadOnlyDictionary<string, string> Properties);
