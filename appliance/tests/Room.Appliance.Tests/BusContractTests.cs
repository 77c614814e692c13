using System.Xml.Linq;
using Room.Bus;

namespace Room.Appliance.Tests;

/// <summary>The contract as roomd reads it (patterns, no System.Xml) against an XML parser's reading of the same file.</summary>
public sealed class BusContractTests
{
    [Fact]
    public void The_contract_reads_the_same_as_with_an_xml_parser()
    {
        var doc = XDocument.Parse(BusContract.IntrospectionXml);
        var expected = doc.Root!.Elements("interface").ToDictionary(
            i => (string)i.Attribute("name")!,
            i => (
                Methods: i.Elements("method").ToDictionary(
                    m => (string)m.Attribute("name")!,
                    m => (In: string.Concat(m.Elements("arg").Where(a => (string?)a.Attribute("direction") != "out").Select(a => (string)a.Attribute("type")!)),
                          Out: string.Concat(m.Elements("arg").Where(a => (string?)a.Attribute("direction") == "out").Select(a => (string)a.Attribute("type")!)))),
                Properties: i.Elements("property").ToDictionary(p => (string)p.Attribute("name")!, p => (string)p.Attribute("type")!)));

        Assert.Equal(expected.Keys.Order(), BusContract.Interfaces.Keys.Order());
        foreach (var (name, e) in expected)
        {
            var actual = BusContract.Interfaces[name];
            Assert.Equal(e.Methods.Keys.Order(), actual.Methods.Keys.Order());
            foreach (var (m, sig) in e.Methods)
            {
                Assert.Equal(sig, (actual.Methods[m].InSignature, actual.Methods[m].OutSignature));
            }

            Assert.Equal(e.Properties.OrderBy(p => p.Key), actual.Properties.OrderBy(p => p.Key));
        }

        // Each introspection fragment is one well-formed interface element.
        Assert.Equal(expected.Count, BusContract.InterfaceXmlFragments.Length);
        foreach (var fragment in BusContract.InterfaceXmlFragments)
        {
            Assert.Equal("interface", XElement.Parse(System.Text.Encoding.UTF8.GetString(fragment.Span)).Name.LocalName);
        }
    }

    [Fact]
    public void Comments_self_closing_methods_and_out_arguments_are_read_right()
    {
        var parsed = BusContract.Parse("""
            <node>
              <!-- <interface name="commented.Out"><method name="Nope"/></interface> -->
              <interface name="a.B">
                <method name="Ping"/>
                <method name="Get">
                  <arg name="key" type="s" direction="in"/>
                  <arg type="u"/>
                  <!-- <arg name="hidden" type="x"/> -->
                  <arg name="value" type="ay" direction="out"/>
                </method>
                <property name="P" type="a(ss)" access="read"/>
              </interface>
            </node>
            """);
        var b = Assert.Single(parsed).Value;
        Assert.Equal(("", ""), (b.Methods["Ping"].InSignature, b.Methods["Ping"].OutSignature));
        Assert.Equal(("su", "ay"), (b.Methods["Get"].InSignature, b.Methods["Get"].OutSignature));
        Assert.Equal("a(ss)", b.Properties["P"]);
    }
}
