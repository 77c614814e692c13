using System.Reflection;
using System.Text;
using System.Xml.Linq;

namespace Room.Bus;

/// <summary>The introspection XML of the contract, and what it declares, for server and clients alike.</summary>
public static class BusContract
{
    private static readonly Lazy<string> s_xml = new(() =>
    {
        using var stream = typeof(BusContract).Assembly.GetManifestResourceStream("org.room.Appliance1.xml")
            ?? throw new InvalidOperationException("The contract resource is missing from Room.Bus.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    });

    private static readonly Lazy<IReadOnlyDictionary<string, InterfaceDescription>> s_interfaces = new(Parse);

    /// <summary>The whole node, as busctl and gdbus see it.</summary>
    public static string IntrospectionXml => s_xml.Value;

    public static IReadOnlyDictionary<string, InterfaceDescription> Interfaces => s_interfaces.Value;

    /// <summary>The &lt;interface&gt; elements alone, UTF-8, for Tmds' ReplyIntrospectXml.</summary>
    public static ReadOnlyMemory<byte>[] InterfaceXmlFragments { get; } =
        XDocument.Parse(s_xml.Value).Root!.Elements("interface")
            .Select(e => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(e.ToString(SaveOptions.None) + "\n"))
            .ToArray();

    private static Dictionary<string, InterfaceDescription> Parse()
    {
        var doc = XDocument.Parse(s_xml.Value);
        return doc.Root!.Elements("interface").Select(i => new InterfaceDescription(
            (string)i.Attribute("name")!,
            i.Elements("method").ToDictionary(
                m => (string)m.Attribute("name")!,
                m => new MethodDescription(
                    (string)m.Attribute("name")!,
                    string.Concat(m.Elements("arg").Where(a => (string?)a.Attribute("direction") != "out").Select(a => (string)a.Attribute("type")!)),
                    string.Concat(m.Elements("arg").Where(a => (string?)a.Attribute("direction") == "out").Select(a => (string)a.Attribute("type")!)))),
            i.Elements("property").ToDictionary(p => (string)p.Attribute("name")!, p => (string)p.Attribute("type")!)))
            .ToDictionary(i => i.Name);
    }
}

public sealed record MethodDescription(string Name, string InSignature, string OutSignature);

public sealed record InterfaceDescription(
    string Name,
    IReadOnlyDictionary<string, MethodDescription> Methods,
    IReadOnlyDictionary<string, string> Properties);
