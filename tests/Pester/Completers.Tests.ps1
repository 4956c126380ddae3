#Requires -Version 7.4
#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Tab completion as PowerShell's console asks for it (TabExpansion2): sandbox nodes for -Instance, the slots of the node
# for -Name and -SlotName, the connected standbys for -StandbyName, the repositories of the configuration for -Repository.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PgDrTestSupport.psm1') -Force
    Import-Module (Get-PgDrModulePath) -Force
    $work = New-PgDrTestDirectory -Label 'completion'
    $savedSandboxVariable = $env:PGDR_SANDBOX
    $env:PGDR_SANDBOX = Join-Path $work 'sandbox'
    $sandbox = New-PgDrSandbox -StandbyCount 1 -Confirm:$false
    $primary = $sandbox.Primary.Instance
    $configPath = Join-Path $work 'pgdr config.json'
    @{ stanza = 'completion'; repositories = @(@{ name = 'region-a-disk'; type = 'filesystem'; path = $work }, @{ name = 'region-b-s3'; type = 's3'; bucket = 'b'; region = 'eu-west-1'; required = $false }) } |
        ConvertTo-Json -Depth 4 | Set-Content $configPath

    function Complete([string] $line) { (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches }
}

AfterAll {
    Remove-PgDrSandbox -Confirm:$false -ErrorAction SilentlyContinue
    $env:PGDR_SANDBOX = $savedSandboxVariable
    if ($work -and (Test-Path $work)) { Remove-Item $work -Recurse -Force }
}

Describe 'Argument completers' {
    It 'completes -Instance with the sandbox nodes, by node name' {
        $matches = Complete 'Get-PgDrNode -Instance region-'
        $matches.ListItemText | Should -Be @('region-a', 'region-b')
        $matches[0].CompletionText | Should -Be "$primary"
    }

    It 'completes -Name with the slots of the node given by -Instance' {
        $matches = Complete "Get-PgReplicationSlot -Instance $primary -Name reg"
        $matches.CompletionText | Should -Be @('region_b')
        $matches = Complete "Remove-PgReplicationSlot $primary -Name "
        $matches.CompletionText | Should -Contain 'region_b'
    }

    It 'completes -StandbyName with the standbys connected to -Instance, and New-PgStandby -SlotName with its slots' {
        (Complete "Set-PgSynchronousReplication -Instance $primary -StandbyName reg").CompletionText | Should -Be @('region-b')
        (Complete "New-PgStandby -Instance $primary -SlotName reg").CompletionText | Should -Be @('region_b')
    }

    It 'completes -Repository with the repositories of -ConfigPath' {
        $matches = Complete "Get-PgWalArchive -ConfigPath '$configPath' -Repository region-"
        $matches.CompletionText | Should -Be @('region-a-disk', 'region-b-s3')
        (Complete "Test-PgWalArchive -ConfigPath '$configPath' -Repository region-b").CompletionText | Should -Be @('region-b-s3')
    }

    It 'offers nothing, and no error, where there is nothing to offer' {
        Complete "Get-PgReplicationSlot -Instance 127.0.0.1:1 -Name x" | Should -BeNullOrEmpty
        Complete "Get-PgWalArchive -ConfigPath '$work/absent.json' -Repository x" | Should -BeNullOrEmpty
    }
}
