//! A claim's balance, split into the parts the law allocates separately.

use restance_kernel::Money;

/// Open amounts of one claim. All parts are ≥ 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Balance {
    /// Unpaid principal (the invoice amount less credit notes and payments).
    pub principal: Money,
    /// Unpaid reminder fees.
    pub fees: Money,
    /// Unpaid default interest.
    pub interest: Money,
}

impl Balance {
    /// A new claim's balance: its principal only.
    pub fn opened(principal: Money) -> Self {
        Self {
            principal,
            fees: Money::ZERO,
            interest: Money::ZERO,
        }
    }

    /// Principal + fees + interest.
    pub fn total(&self) -> Money {
        self.principal + self.fees + self.interest
    }

    /// Nothing left to pay.
    pub fn is_settled(&self) -> bool {
        self.total().is_zero()
    }

    /// Applies a credit note: it reduces the principal; what exceeds the open principal is
    /// returned, to become the debtor's credit balance. A credit note never pays fees or
    /// interest: it corrects the invoice, it is not a payment.
    pub fn credit(&mut self, amount: Money) -> Money {
        let used = if amount > self.principal {
            self.principal
        } else {
            amount
        };
        self.principal -= used;
        amount - used
    }

    /// Adds an assessed fee.
    pub fn add_fee(&mut self, amount: Money) {
        self.fees += amount;
    }

    /// Adds assessed interest.
    pub fn add_interest(&mut self, amount: Money) {
        self.interest += amount;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        Money::parse(s).expect("valid money")
    }

    #[test]
    fn a_credit_larger_than_the_principal_leaves_the_excess_for_the_debtor() {
        let mut b = Balance::opened(m("100.00"));
        b.add_fee(m("250.00"));
        let excess = b.credit(m("150.00"));
        assert_eq!(b.principal, Money::ZERO);
        assert_eq!(b.fees, m("250.00"), "a credit note does not pay fees");
        assert_eq!(excess, m("50.00"));
    }

    #[test]
    fn a_partial_credit_reduces_the_principal() {
        let mut b = Balance::opened(m("2150.00"));
        assert_eq!(b.credit(m("150.00")), Money::ZERO);
        assert_eq!(b.principal, m("2000.00"));
        assert!(!b.is_settled());
    }
}
