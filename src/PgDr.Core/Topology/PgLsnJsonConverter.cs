using System.Text.Json;
using System.Text.Json.Serialization;

namespace PgDr.Topology;

/// <summary>Writes an LSN as PostgreSQL prints it ("0/3000060"), so --json output pastes back into SQL.</summary>
public sealed class PgLsnJsonConverter : JsonConverter<PgLsn>
{
    public override PgLsn Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        PgLsn.Parse(reader.GetString() ?? throw new JsonException("An LSN must be a string."));

    public override void Write(Utf8JsonWriter writer, PgLsn value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
}
