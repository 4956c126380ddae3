<#
.SYNOPSIS
    PgDr's build tasks for PowerShell users: Build, Test, Package. build.sh does the same where PowerShell is absent.
.EXAMPLE
    ./build.ps1 -Task Test
    Builds, runs the xunit suite against real PostgreSQL, then the Pester suites against the built module.
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Package')]
    [string] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release'
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$root = $PSScriptRoot
$moduleFolder = Join-Path $root 'artifacts/module/PgDr'

function Invoke-Build {
    # System.IO.Hashing (needed by Azure.Storage) is missing from some NuGet mirrors: repack it from the SDK.
    if (-not $IsWindows) { bash (Join-Path $root 'build/make-local-feed.sh') }
    dotnet build (Join-Path $root 'PgDr.sln') -c $Configuration -nologo -v quiet
    if ($LASTEXITCODE -ne 0) { throw "dotnet build failed ($LASTEXITCODE)." }
}

function Invoke-Package {
    Invoke-Build
    dotnet publish (Join-Path $root 'src/PgDr.Cli/PgDr.Cli.csproj') -c $Configuration -o (Join-Path $root 'artifacts/pgdr') -nologo -v quiet
    if ($LASTEXITCODE -ne 0) { throw "dotnet publish failed ($LASTEXITCODE)." }
    Write-Verbose "Module folder: $moduleFolder"
}

function Invoke-Test {
    Invoke-Package
    npm ci --prefix (Join-Path $root 'tests/emulators') --no-audit --no-fund --loglevel=error
    dotnet test (Join-Path $root 'PgDr.sln') -c $Configuration --no-build -nologo
    $dotnetFailed = $LASTEXITCODE -ne 0

    $pester = Get-Module -ListAvailable Pester | Where-Object Version -ge '5.0.0' | Select-Object -First 1
    if (-not $pester) {
        throw 'Pester 5 is needed for the module tests: Install-Module Pester -MinimumVersion 5.0 -Scope CurrentUser'
    }

    Import-Module $pester
    $configuration = New-PesterConfiguration
    $configuration.Run.Path = Join-Path $root 'tests/Pester'
    $configuration.Run.Exit = $false
    $configuration.Run.PassThru = $true
    $configuration.Output.Verbosity = 'Detailed'
    $result = Invoke-Pester -Configuration $configuration
    if ($dotnetFailed -or $result.FailedCount -gt 0) {
        throw "Tests failed (dotnet test: $(-not $dotnetFailed ? 'passed' : 'failed'), Pester: $($result.FailedCount) failed)."
    }
}

switch ($Task) {
    'Build' { Invoke-Build }
    'Test' { Invoke-Test }
    'Package' { Invoke-Package }
}
