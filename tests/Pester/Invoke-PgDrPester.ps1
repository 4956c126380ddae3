<#
.SYNOPSIS
    Runs PgDr's Pester suites (tests/Pester, Drills included) with the Pester the build pinned, in the pwsh the build
    made (artifacts/pwsh/pwsh), and prints one line of totals as the xunit run does.
.DESCRIPTION
    ./build.sh test and ./build.ps1 -Task Test run it beside xunit; a failed or errored Pester run exits non-zero.
    Skipped tests are counted apart from passed ones, never as passed.
.EXAMPLE
    artifacts/pwsh/pwsh -NoProfile -NonInteractive -File tests/Pester/Invoke-PgDrPester.ps1
.EXAMPLE
    artifacts/pwsh/pwsh -NoProfile -File tests/Pester/Invoke-PgDrPester.ps1 -Path tests/Pester/ReplicationHealth.Tests.ps1
#>
[CmdletBinding()]
param(
    # Suites or folders to run; every *.Tests.ps1 below tests/Pester by default.
    [string[]] $Path = @($PSScriptRoot),

    # Pester's output verbosity (None, Normal, Detailed, Diagnostic).
    [string] $Verbosity = 'Detailed'
)

$ErrorActionPreference = 'Stop'
$root = Resolve-Path (Join-Path $PSScriptRoot '../..')
# The build copies Pester next to the test host (tests/PwshHost/PwshHost.csproj); a Pester the user installed
# elsewhere must not be the one that runs.
$pinned = Join-Path $root 'artifacts/pwsh/Modules'
$env:PSModulePath = $pinned + [IO.Path]::PathSeparator + $env:PSModulePath
Import-Module (Join-Path $pinned 'Pester') -MinimumVersion 5.0 -ErrorAction Stop

$configuration = New-PesterConfiguration
$configuration.Run.Path = $Path
$configuration.Run.Exit = $false
$configuration.Run.PassThru = $true
$configuration.Output.Verbosity = $Verbosity
$result = Invoke-Pester -Configuration $configuration

$notRun = $result.NotRunCount + $result.FailedBlocksCount + $result.FailedContainersCount
Write-Output ("pester: {0} passed, {1} failed, {2} skipped{3} ({4:0.0} s)" -f $result.PassedCount, $result.FailedCount, $result.SkippedCount,
    $(if ($notRun -gt 0) { ", $($result.FailedBlocksCount) blocks and $($result.FailedContainersCount) files failed to run" } else { '' }),
    $result.Duration.TotalSeconds)
if ($result.Result -ne 'Passed') { exit 1 }
exit 0
