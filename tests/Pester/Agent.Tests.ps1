#Requires -Version 7.4
#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Start-PgDrAgent and Get-PgDrEvent as a runbook or a container's entry point uses them, on a real sandbox primary:
# -WhatIf starts nothing, bad input is refused by its error id, and an agent run in the pipeline holds the lease and
# answers its endpoint, then parks the lease when the pipeline has what it wanted. Failover by agents is tested in
# tests/Unit/Agent (xunit), on topologies of their own.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PgDrTestSupport.psm1') -Force
    Import-Module (Get-PgDrModulePath) -Force
    $work = New-PgDrTestDirectory -Label 'agent'
    $sandbox = New-PgDrSandbox -Path (Join-Path $work 'sandbox') -StandbyCount 0 -Confirm:$false
    $primary = $sandbox.Primary.Instance
    $http = Get-PgDrFreePort
    $events = Join-Path $work 'agent-events.jsonl'

    # The node's configuration file: the sandbox's repositories plus an agent section with short test timings. The
    # agent reads no password from it: the superuser's comes from the sandbox's pgpass file.
    function New-AgentConfig([string] $Name, [hashtable] $Policy) {
        $config = Get-Content $sandbox.ConfigPath -Raw | ConvertFrom-Json -AsHashtable
        $config.agent = @{
            node        = 'region-a'
            instance    = "127.0.0.1:$($primary.Port)"
            httpAddress = '127.0.0.1'
            httpPort    = $http
            eventsPath  = $events
            policy      = $Policy
        }
        $path = Join-Path $work $Name
        $config | ConvertTo-Json -Depth 10 | Set-Content $path
        $path
    }
    $agentConfig = New-AgentConfig 'pgdr-agent.json' @{ heartbeatIntervalSeconds = 0.5; renewIntervalSeconds = 0.5; leaseTtlSeconds = 5; fenceMarginSeconds = 2 }
    $badConfig = New-AgentConfig 'pgdr-bad.json' @{ leaseTtlSeconds = 6; fenceMarginSeconds = 9 }
    $saved = @{ PGPASSFILE = $env:PGPASSFILE; PGUSER = $env:PGUSER }
    $env:PGPASSFILE = Join-Path $sandbox.Directory '.pgpass'
    $env:PGUSER = 'postgres'
}

AfterAll {
    if ($saved) { $env:PGPASSFILE = $saved.PGPASSFILE; $env:PGUSER = $saved.PGUSER }
    if ($work -and (Test-Path $work)) {
        Remove-PgDrSandbox -Path (Join-Path $work 'sandbox') -Confirm:$false -ErrorAction SilentlyContinue
        Remove-Item $work -Recurse -Force
    }
}

Describe 'Start-PgDrAgent -WhatIf' {
    It 'starts nothing: no lease, no event log, no endpoint' {
        Start-PgDrAgent -ConfigPath $agentConfig -WhatIf
        Get-PgDrLease -ConfigPath $agentConfig | Should -BeNullOrEmpty
        Test-Path $events | Should -BeFalse
        { Invoke-WebRequest "http://127.0.0.1:$http/health" -TimeoutSec 5 } | Should -Throw
    }
}

Describe 'Start-PgDrAgent refusals' {
    It 'refuses a malformed policy with InvalidConfig before it starts anything' {
        { Start-PgDrAgent -ConfigPath $badConfig -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidConfig,*'
        Test-Path $events | Should -BeFalse
    }
}

Describe 'Start-PgDrAgent' {
    It 'holds the lease and answers /primary while it runs, and parks the lease when the pipeline stops it' {
        $answer = $null
        $acquired = Start-PgDrAgent -ConfigPath $agentConfig | Where-Object Kind -EQ 'LeaseAcquired' | ForEach-Object {
            # The endpoint answers from the view the agent publishes at the end of the round that took the lease.
            $deadline = [DateTime]::UtcNow.AddSeconds(30)
            do {
                $answer = (Invoke-WebRequest "http://127.0.0.1:$http/primary" -SkipHttpErrorCheck -TimeoutSec 5).StatusCode
                if ($answer -ne 200) { Start-Sleep -Milliseconds 100 }
            } until ($answer -eq 200 -or [DateTime]::UtcNow -gt $deadline)
            $_
        } | Select-Object -First 1

        $acquired.Node | Should -Be 'region-a'
        $answer | Should -Be 200
        # The agent ended with the command: its port is free again, and it parked the lease (no TTL) instead of fencing.
        { Invoke-WebRequest "http://127.0.0.1:$http/health" -TimeoutSec 5 } | Should -Throw
        $lease = Get-PgDrLease -ConfigPath $agentConfig
        $lease.Holder | Should -Be 'region-a'
        $lease.TtlSeconds | Should -BeNullOrEmpty
        (Get-PgDrNode $primary).Role | Should -Be 'Primary'
    }

    It 'leaves its decisions for Get-PgDrEvent, oldest first' {
        # A slow first lease read on a loaded host adds a LeaseRenewalFailed before the LeaseAcquired: not asserted here.
        $kinds = @((Get-PgDrEvent -Path $events).Kind | ForEach-Object ToString)
        $kinds[0] | Should -Be 'AgentStarted'
        $kinds | Should -Contain 'LeaseAcquired'
        $kinds[-1] | Should -Be 'AgentStopped'
        (Get-PgDrEvent -ConfigPath $agentConfig -Last 1).Reason | Should -BeLike '*is parked without a TTL*'
    }
}
