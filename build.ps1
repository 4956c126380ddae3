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
    dotnet build (Join-Path $root 'PgDr.sln') -c $Configuration -nologo -v quiet
    if ($LASTEXITCODE -ne 0) { throw "dotnet build failed ($LASTEXITCODE)." }
}

function Invoke-Package {
    Invoke-Build
    # The module as shipped: artifacts/package/gallery/PgDr (Publish-PSResource) and artifacts/package/PgDr.zip (Azure Automation).
    dotnet msbuild (Join-Path $root 'build/Package.proj') -t:Package -nologo -v:minimal
    if ($LASTEXITCODE -ne 0) { throw "packaging failed ($LASTEXITCODE)." }
    dotnet publish (Join-Path $root 'src/PgDr.Cli/PgDr.Cli.csproj') -c $Configuration -o (Join-Path $root 'artifacts/pgdr') -nologo -v quiet
    if ($LASTEXITCODE -ne 0) { throw "dotnet publish failed ($LASTEXITCODE)." }
    Write-Verbose "Module folder: $moduleFolder"
}

function Invoke-Test {
    Invoke-Package
    npm ci --prefix (Join-Path $root 'tests/emulators') --no-audit --no-fund --loglevel=error
    dotnet test (Join-Path $root 'PgDr.sln') -c $Configuration --no-build -nologo
    $dotnetFailed = $LASTEXITCODE -ne 0

    # The Pester suites run in the pwsh the build made, with the Pester it pinned (tests/PwshHost), as ./build.sh test does.
    $pwshHost = Join-Path $root ($IsWindows ? 'artifacts/pwsh/pwsh.exe' : 'artifacts/pwsh/pwsh')
    & $pwshHost -NoProfile -NonInteractive -File (Join-Path $root 'tests/Pester/Invoke-PgDrPester.ps1')
    $pesterFailed = $LASTEXITCODE -ne 0
    if ($dotnetFailed -or $pesterFailed) {
        throw "Tests failed (xunit: $($dotnetFailed ? 'failed' : 'passed'), Pester: $($pesterFailed ? 'failed' : 'passed'))."
    }
}

switch ($Task) {
    'Build' { Invoke-Build }
    'Test' { Invoke-Test }
    'Package' { Invoke-Package }
}
