#Requires -Version 7.4
#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# The exported cmdlets for real, against one sandbox topology shared by the whole file (a primary, two standbys and a
# cascading standby, in a directory whose name has a space): the README's tour line by line, then each cmdlet's
# parameter sets, pipeline input by value and by property name, -WhatIf / -Confirm, errors as ErrorRecords with their
# stable id and target, -ErrorAction Stop, bad input, the default views at 80 columns, and PSSerializer round trips.
# The archive cmdlets are in WalArchiving.Tests.ps1, cancellation in Cancellation.Tests.ps1.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PgDrTestSupport.psm1') -Force
    $modulePath = Get-PgDrModulePath
    Import-Module $modulePath -Force
    $work = New-PgDrTestDirectory -Label 'cmdlets'
    # The tour's Get-PgDrSandbox / Remove-PgDrSandbox use the default directory: $env:PGDR_SANDBOX.
    $savedSandboxVariable = $env:PGDR_SANDBOX
    $env:PGDR_SANDBOX = Join-Path $work 'sandbox with space'
}

AfterAll {
    if ($env:PGDR_SANDBOX -and (Test-Path $env:PGDR_SANDBOX)) { Remove-PgDrSandbox -Confirm:$false -ErrorAction SilentlyContinue }
    $env:PGDR_SANDBOX = $savedSandboxVariable
    if ($work -and (Test-Path $work)) { Remove-Item $work -Recurse -Force }
}

Describe 'The README tour, line by line' {
    It '$sb = New-PgDrSandbox -StandbyCount 2 -Cascading' {
        $script:sb = New-PgDrSandbox -StandbyCount 2 -Cascading -Confirm:$false
        $sb.Nodes.Name | Should -Be @('region-a', 'region-b', 'region-c', 'region-b2')
        $script:primary = $sb.Primary.Instance
        $script:cred = Get-PgDrSandboxCredential -Path $env:PGDR_SANDBOX
    }

    It '$sb.Nodes | Get-PgDrNode | Format-Table' {
        $nodes = $sb.Nodes | Get-PgDrNode
        $nodes | Should -HaveCount 4
        ($nodes | Format-Table | Out-String) | Should -Match 'region-b2'
    }

    It 'Get-PgDrNode db-a:5432 -Credential $cred | Get-PgReplicationLag -MaxLagBytes 16MB -MaxLag 00:00:30 | Where-Object -not Healthy' {
        # db-a:5432 is the sandbox primary here: a plain host:port string with the credential, as a user types it.
        $address = "$($primary.Host):$($primary.Port)"
        $unhealthy = Get-PgDrNode $address -Credential $cred | Get-PgReplicationLag -MaxLagBytes 16MB -MaxLag 00:00:30 | Where-Object -not Healthy
        $unhealthy | Should -BeNullOrEmpty
    }

    It 'Test-PgReplicationSlot db-a:5432 -MaxRetainedBytes 10GB | Where-Object -not Healthy' {
        Test-PgReplicationSlot $primary -MaxRetainedBytes 10GB | Where-Object -not Healthy | Should -BeNullOrEmpty
    }

    It "if (-not (Test-PgReplicationSlot db-a:5432 -Quiet)) { throw 'a slot endangers the primary' }" {
        { if (-not (Test-PgReplicationSlot $primary -Quiet)) { throw 'a slot endangers the primary' } } | Should -Not -Throw
    }

    It 'New-PgReplicationSlot db-a:5432 -Name region_d' {
        $slot = New-PgReplicationSlot $primary -Name region_d -Confirm:$false
        $slot.SlotName | Should -Be 'region_d'
    }

    It 'Get-PgReplicationSlot db-a:5432 -Name region_d | Remove-PgReplicationSlot -WhatIf' {
        Get-PgReplicationSlot $primary -Name region_d | Remove-PgReplicationSlot -WhatIf
        (Get-PgReplicationSlot $primary -Name region_d).SlotName | Should -Be 'region_d'
        Remove-PgReplicationSlot $primary -Name region_d -Confirm:$false
    }

    It '$repl = Get-Credential pgdr_replicator' {
        $script:repl = Get-PgDrSandboxCredential -Path $env:PGDR_SANDBOX -User pgdr_replicator
        $repl.UserName | Should -Be 'pgdr_replicator'
    }

    It 'New-PgStandby db-a:5432 -DataDirectory /srv/pg/region-d -Name region-d -Port 5433 -CreateSlot -ReplicationCredential $repl -WhatIf' {
        # A directory the postgres account may write (inside the sandbox, whose path has a space), a port that is free.
        $directory = Join-Path $env:PGDR_SANDBOX 'region-d'
        New-PgStandby $primary -DataDirectory $directory -Name region-d -Port (Get-PgDrFreePort) -CreateSlot -ReplicationCredential $repl -WhatIf
        Test-Path $directory | Should -BeFalse
        Get-PgReplicationSlot $primary -Name 'region_d*' | Should -BeNullOrEmpty
    }

    It 'Set-PgSynchronousReplication db-a:5432 -StandbyName region-b -SynchronousCommit remote_apply -WhatIf' {
        Set-PgSynchronousReplication $primary -StandbyName region-b -SynchronousCommit remote_apply -WhatIf
        (Get-PgReplicationLag $primary | Where-Object StandbyName -eq 'region-b').SyncState | Should -Be 'async'
    }

    It 'Get-PgDrSandbox' {
        $status = Get-PgDrSandbox
        $status | Should -HaveCount 4
        $status | Where-Object Role -eq 'Standby' | ForEach-Object { $_.Lag.State | Should -Be 'streaming' }
    }

    # Remove-PgDrSandbox, the tour's last sandbox line, runs in AfterAll: the rest of this file uses the sandbox.
}

Describe 'Module surface' {
    It 'exports exactly the cmdlets the manifest lists' {
        $manifest = Test-ModuleManifest $modulePath
        $exported = (Get-Command -Module PgDr).Name | Sort-Object
        $exported | Should -Be ($manifest.ExportedCmdlets.Keys | Sort-Object)
    }

    It 'declares an output type on every cmdlet' {
        Get-Command -Module PgDr | ForEach-Object { $_.OutputType | Should -Not -BeNullOrEmpty -Because $_.Name }
    }
}

Describe 'Pipeline input' {
    It 'takes host:port strings by value' {
        ("$primary", "$($sb.Nodes[1].Instance)" | Get-PgDrNode -Credential $cred).Role | Should -Be @('Primary', 'Standby')
    }

    It 'takes node objects by value and goes on to the next cmdlet' {
        (Get-PgDrNode $primary | Get-PgReplicationLag).StandbyName | Sort-Object | Should -Be @('region-b', 'region-c')
    }

    It 'takes any object with an Instance property by property name' {
        ([pscustomobject]@{ Instance = "$primary" } | Get-PgDrNode -Credential $cred).Role | Should -Be 'Primary'
    }

    It 'drops a slot by property name (Instance and SlotName) and by value (InputObject set)' {
        New-PgReplicationSlot $primary -Name pester_byname -Confirm:$false | Out-Null
        [pscustomobject]@{ Instance = $primary; SlotName = 'pester_byname' } | Remove-PgReplicationSlot -Confirm:$false
        New-PgReplicationSlot $primary -Name pester_byvalue -Confirm:$false | Remove-PgReplicationSlot -Confirm:$false
        Get-PgReplicationSlot $primary -Name 'pester_*' | Should -BeNullOrEmpty
    }

    It 'passes the sandbox directory on by property name (Path)' {
        ($sb | Get-PgDrSandbox) | Should -HaveCount 4
    }
}

Describe 'Parameter sets and switches' {
    It 'Remove-PgReplicationSlot has a ByName set with -Credential and an InputObject set' {
        (Get-Command Remove-PgReplicationSlot).ParameterSets.Name | Sort-Object | Should -Be @('ByName', 'InputObject')
        New-PgReplicationSlot $primary -Name pester_sets -Confirm:$false | Out-Null
        $removed = Remove-PgReplicationSlot "$primary" -Name pester_sets -Credential $cred -Confirm:$false -PassThru
        $removed.SlotName | Should -Be 'pester_sets'
    }

    It 'answers -Quiet with one bool, and returns objects without it' {
        Test-PgReplicationSlot $primary -Name 'region_*' -Quiet | Should -BeOfType [bool]
        (Test-PgReplicationSlot $primary -Name 'region_*').Count | Should -BeGreaterThan 1
    }

    It 'lists by wildcard, and a missing exact name is ReplicationSlotNotFound' {
        (Get-PgReplicationSlot $primary -Name 'region_*').SlotName | Should -Contain 'region_b'
        { Get-PgReplicationSlot $primary -Name nothing_here -ErrorAction Stop } | Should -Throw -ErrorId 'ReplicationSlotNotFound,*'
    }

    It 'creates a slot on a standby only with -AllowStandby' {
        $standby = $sb.Nodes[1].Instance
        { New-PgReplicationSlot $standby -Name pester_standby -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'NodeIsStandby,*'
        (New-PgReplicationSlot $standby -Name pester_standby -AllowStandby -Confirm:$false).SlotName | Should -Be 'pester_standby'
        Remove-PgReplicationSlot $standby -Name pester_standby -Confirm:$false
    }
}

Describe '-WhatIf and -Confirm' {
    It 'New-PgReplicationSlot -WhatIf creates nothing' {
        New-PgReplicationSlot $primary -Name pester_whatif -WhatIf
        { Get-PgReplicationSlot $primary -Name pester_whatif -ErrorAction Stop } | Should -Throw -ErrorId 'ReplicationSlotNotFound,*'
    }

    It 'Remove-PgReplicationSlot -WhatIf drops nothing and says what it would free' {
        New-PgReplicationSlot $primary -Name pester_keep -Confirm:$false | Out-Null
        $said = Remove-PgReplicationSlot $primary -Name pester_keep -WhatIf 6>&1 | Out-String
        Get-PgReplicationSlot $primary -Name pester_keep | Should -Not -BeNullOrEmpty
        Remove-PgReplicationSlot $primary -Name pester_keep -Confirm:$false
    }

    It 'New-PgDrSandbox -WhatIf creates no directory and Remove-PgDrSandbox -WhatIf stops nothing' {
        $path = Join-Path $work 'never created'
        New-PgDrSandbox -Path $path -WhatIf
        Test-Path $path | Should -BeFalse
        Remove-PgDrSandbox -WhatIf
        (Get-PgDrSandbox | Where-Object Running).Count | Should -Be 4
    }

    It 'removals ask first (ConfirmImpact High): with $ConfirmPreference High and no -Confirm:$false they would prompt' {
        (Get-Command Remove-PgReplicationSlot).ImplementingType.GetCustomAttributes($true) |
            Where-Object { $_ -is [System.Management.Automation.CmdletAttribute] } |
            ForEach-Object ConfirmImpact | Should -Be 'High'
    }
}

Describe 'Errors' {
    It 'turns an unreachable host into HostUnreachable with the instance as target, and goes on with the next instance' {
        $nodes = Get-PgDrNode '127.0.0.1:1', $primary -ErrorVariable failures -ErrorAction SilentlyContinue
        $nodes | Should -HaveCount 1
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'HostUnreachable,*'
        $failures[0].CategoryInfo.Category | Should -Be 'ConnectionError'
        "$($failures[0].TargetObject)" | Should -Be '127.0.0.1:1'
    }

    It 'turns an error into an exception with -ErrorAction Stop' {
        $caught = $null
        try { Get-PgDrNode '127.0.0.1:1' -ErrorAction Stop } catch { $caught = $_ }
        $caught.FullyQualifiedErrorId | Should -BeLike 'HostUnreachable,*'
        $caught.Exception.ErrorId | Should -Be 'HostUnreachable'
    }

    It 'reports a wrong password as AuthenticationFailed without the password' {
        $wrong = [pscredential]::new('postgres', (ConvertTo-SecureString 'not-the-password' -AsPlainText -Force))
        Get-PgDrNode $primary -Credential $wrong -ErrorVariable failures -ErrorAction SilentlyContinue
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'AuthenticationFailed,*'
        $failures[0].ToString() | Should -Not -Match 'not-the-password'
    }

    It 'refuses an invalid slot name with InvalidSlotName' {
        { New-PgReplicationSlot $primary -Name 'Bad-Name' -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidSlotName,*'
    }
}

Describe 'Bad input' {
    It 'refuses a bare number as an instance, saying why, and connects nowhere' {
        { Get-PgDrNode 42 -ErrorAction Stop } | Should -Throw '*a number alone is not a host; for port 42 on this machine write localhost:42*'
        # Piped, PowerShell's binder refuses it before the cmdlet runs: its standard error, nothing sent anywhere.
        $result = 42 | Get-PgDrNode -ErrorVariable failures -ErrorAction SilentlyContinue
        $result | Should -BeNullOrEmpty
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'InputObjectNotBound,*'
    }

    It 'refuses an object of the wrong type from the pipeline, one error per object, and goes on' {
        $result = (Get-Date), [pscustomobject]@{ Something = 'else' }, "$primary" | Get-PgDrNode -Credential $cred -ErrorVariable failures -ErrorAction SilentlyContinue
        @($result).Count | Should -Be 1
        $failures | Should -HaveCount 2
        $failures | ForEach-Object { $_.FullyQualifiedErrorId | Should -BeLike 'InputObjectNotBound,*' }
    }

    It 'reports a PSCredential with an empty password as AuthenticationFailed naming the user' {
        $empty = [pscredential]::new('postgres', [securestring]::new())
        Get-PgDrNode $primary -Credential $empty -ErrorVariable failures -ErrorAction SilentlyContinue
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'AuthenticationFailed,*'
        "$($failures[0])" | Should -Match "'postgres'"
    }

    It 'names the user it tried when PGPASSFILE is set and no user was given' {
        $passfile = Join-Path $work 'other.pgpass'
        Set-Content $passfile 'elsewhere:5432:*:someone:secret'
        if (-not $IsWindows) { chmod 600 $passfile }
        $saved = $env:PGPASSFILE, $env:PGUSER
        $env:PGPASSFILE = $passfile; $env:PGUSER = $null
        try {
            Get-PgDrNode "$primary" -ErrorVariable failures -ErrorAction SilentlyContinue
        }
        finally { $env:PGPASSFILE, $env:PGUSER = $saved }
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'AuthenticationFailed,*'
        "$($failures[0])" | Should -Match ([regex]::Escape("'$([Environment]::UserName)'"))
        "$($failures[0])" | Should -Not -Match 'secret'
    }
}

Describe 'Default views at 80 columns' {
    It 'Get-PgDrNode keeps Name, Role, TL, Lsn and Upstream' {
        $text = Get-PgDrTableView ($sb.Nodes | Get-PgDrNode) -Column Name, Role, TL, Lsn, Upstream
        $text | Should -Match 'Primary'
        ($sb.Nodes[0] | Get-PgDrNode | Format-List | Out-String) | Should -Match 'SystemIdentifier'
    }

    It 'Get-PgReplicationLag keeps Standby, State, ByteLag, TimeLag and Healthy, with units' {
        $text = Get-PgDrTableView (Get-PgReplicationLag $primary) -Column Standby, State, ByteLag, TimeLag, Healthy
        $text | Should -Match '\d B\b|\d\.\d [KMG]B'
        $text | Should -Match '\d\.\d{3} s'
        (Get-PgReplicationLag $primary | Format-List | Out-String) | Should -Match 'ReplayLsn'
    }

    It 'slots, slot health and the sandbox fit with their deciding columns' {
        Get-PgDrTableView (Get-PgReplicationSlot $primary) -Column SlotName, Active, WalStatus, Retained | Out-Null
        Get-PgDrTableView (Test-PgReplicationSlot $primary) -Column SlotName, Healthy, Reasons | Out-Null
        Get-PgDrTableView (Get-PgDrSandbox) -Column Name, State, Role, ByteLag | Out-Null
        Get-PgDrTableView $sb.Nodes -Column Name, Instance, Upstream | Out-Null
        Get-PgDrTableView $sb -Column Directory, Nodes | Out-Null
        New-PgReplicationSlot $primary -Name pester_view -Confirm:$false | Out-Null
        Get-PgDrTableView (Remove-PgReplicationSlot $primary -Name pester_view -Confirm:$false -PassThru) -Column SlotName, Freed | Out-Null
    }
}

Describe 'Objects after a PSSerializer round trip (Invoke-Command, remoting)' {
    It 'keep what a runbook needs from a node, a lag row and a slot' {
        $node = [System.Management.Automation.PSSerializer]::Deserialize([System.Management.Automation.PSSerializer]::Serialize((Get-PgDrNode $primary)))
        $node.PSObject.TypeNames[0] | Should -Be 'Deserialized.PgDr.Topology.PgNode'
        "$($node.Role)" | Should -Be 'Primary'
        $node.SystemIdentifier | Should -BeGreaterThan 0
        "$($node.Instance)" | Should -Be "$primary"
        $lag = [System.Management.Automation.PSSerializer]::Deserialize([System.Management.Automation.PSSerializer]::Serialize(@(Get-PgReplicationLag $primary -MaxLagBytes 1GB)))
        $lag | ForEach-Object { $_.Healthy | Should -BeTrue; $_.ByteLag | Should -BeOfType [long] }
        $slot = [System.Management.Automation.PSSerializer]::Deserialize([System.Management.Automation.PSSerializer]::Serialize((Get-PgReplicationSlot $primary -Name region_b)))
        $slot.SlotName | Should -Be 'region_b'
    }

    It 'pipe on into the next cmdlet by property name, and carry no password' {
        $xml = [System.Management.Automation.PSSerializer]::Serialize((Get-PgDrNode $primary), 3)
        $xml | Should -Not -Match ([regex]::Escape($cred.GetNetworkCredential().Password))
        $node = [System.Management.Automation.PSSerializer]::Deserialize($xml)
        ($node | Get-PgReplicationLag -Credential $cred).StandbyName | Sort-Object | Should -Be @('region-b', 'region-c')
    }
}
