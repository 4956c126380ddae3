using PgDr.Errors;

namespace PgDr.Hosting;

/// <summary>Waits for a condition with a deadline, instead of sleeping for a fixed time.</summary>
public static class Wait
{
    public static async Task UntilAsync(Func<CancellationToken, Task<bool>> condition, TimeSpan timeout, string what, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        var delay = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            if (await condition(cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            if (DateTime.UtcNow >= deadline)
            {
                throw new PgDrException(ErrorIds.Timeout, PgDrErrorCategory.OperationTimeout, $"Timed out after {timeout.TotalSeconds:0} s waiting for {what}.", what);
            }

            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 500));
        }
    }
}
