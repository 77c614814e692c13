using Room.Bus.Server;
using Tmds.DBus.Protocol;

namespace Room.Appliance.Tests;

public class VariantComparerTests
{
    [Fact]
    public void Equal_arrays_of_structs_built_separately_are_equal()
    {
        VariantValue a = new Array<Struct<string, bool>>([Struct.Create("x", true)]);
        VariantValue b = new Array<Struct<string, bool>>([Struct.Create("x", true)]);
        Assert.True(VariantComparer.DeepEquals(a, b));
    }

    [Fact]
    public void A_changed_nested_value_is_not_equal()
    {
        VariantValue a = new Array<Struct<string, bool>>([Struct.Create("x", true)]);
        VariantValue b = new Array<Struct<string, bool>>([Struct.Create("x", false)]);
        Assert.False(VariantComparer.DeepEquals(a, b));
    }

    [Fact]
    public void Dictionaries_compare_by_content_and_types_must_match()
    {
        VariantValue a = new Dict<string, string>(new Dictionary<string, string> { ["k"] = "v" });
        VariantValue b = new Dict<string, string>(new Dictionary<string, string> { ["k"] = "v" });
        VariantValue c = new Dict<string, string>(new Dictionary<string, string> { ["k"] = "w" });
        Assert.True(VariantComparer.DeepEquals(a, b));
        Assert.False(VariantComparer.DeepEquals(a, c));
        Assert.False(VariantComparer.DeepEquals(VariantValue.UInt32(1), VariantValue.Int32(1)));
    }
}
