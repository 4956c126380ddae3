using System.Text;

namespace PgDr.Cli.Output;

/// <summary>Plain aligned columns for humans; scripts use --json.</summary>
internal static class Table
{
    public static void Write<T>(IEnumerable<T> rows, params (string Header, Func<T, object?> Value)[] columns)
    {
        var cells = rows.Select(r => columns.Select(c => Format(c.Value(r))).ToArray()).ToList();
        var widths = columns.Select((c, i) => Math.Max(c.Header.Length, cells.Count == 0 ? 0 : cells.Max(r => r[i].Length))).ToArray();
        var sb = new StringBuilder();
        AppendRow(sb, columns.Select(c => c.Header).ToArray(), widths);
        AppendRow(sb, widths.Select(w => new string('-', w)).ToArray(), widths);
        foreach (var row in cells)
        {
            AppendRow(sb, row, widths);
        }

        Console.Out.Write(sb.ToString());
    }

    private static void AppendRow(StringBuilder sb, string[] cells, int[] widths)
    {
        for (var i = 0; i < cells.Length; i++)
        {
            sb.Append(i == cells.Length - 1 ? cells[i] : cells[i].PadRight(widths[i] + 2));
        }

        sb.Append('\n');
    }

    private static string Format(object? value) => value switch
    {
        null => "-",
        TimeSpan t => t.TotalSeconds.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture) + " s",
        bool b => b ? "yes" : "no",
        IEnumerable<string> list => string.Join("; ", list),
        _ => value.ToString() ?? "-",
    };
}
